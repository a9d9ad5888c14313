//! `Histogram::record` against opentelemetry_sdk's `Histogram<f64>::record` (no attributes)
//! and prometheus-client's `Histogram::observe`, with the same bounds (Prometheus' default
//! buckets, `Histogram::DEFAULT_BOUNDS`); and `ExponentialHistogram::record`. Each routine
//! records the same 1,000 values spread over every bucket, so figures are per 1,000 records.
//! `record_2_threads` has two threads record 20,000 values each into one histogram at once
//! (thread start included, the same for every routine): what a contended hot path costs.
//! `read` takes a snapshot of each histogram type holding the 1,000 values, recorded by one
//! thread or by four (four shards to add up): an export's cost.
//!
//! ```text
//! BENCH_PAIRED=record_1000 cargo bench --bench histogram_record
//! BENCH_PAIRED=record_2_threads BENCH_ROUNDS=31 cargo bench --bench histogram_record
//! cargo bench --bench histogram_record -- --warm-up-time 1 --measurement-time 2
//! scripts/callgrind.py histogram_record
//! ```

mod support;

use std::hint::black_box;
use std::sync::Arc;

use metrics_core::{ExponentialHistogram, Histogram};
use opentelemetry::metrics::MeterProvider;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use support::Routine;

/// 1,000 values from 1 ms to about 20 s, in every bucket of the default bounds.
fn values() -> Vec<f64> {
    (0..1000)
        .map(|i| 0.001 * 1.01f64.powi((i * 7) % 1000))
        .collect()
}

/// The SDK's synchronous histogram, aggregated with `bounds`; the provider's reader keeps the
/// pipeline alive and is never collected during the measurement.
fn sdk_histogram(bounds: &[f64]) -> (SdkMeterProvider, opentelemetry::metrics::Histogram<f64>) {
    let provider = SdkMeterProvider::builder()
        .with_reader(ManualReader::builder().build())
        .build();
    let histogram = provider
        .meter("bench")
        .f64_histogram("latency")
        .with_boundaries(bounds.to_vec())
        .build();
    (provider, histogram)
}

fn record() -> [Routine; 4] {
    let group = "record_1000";
    let bounds = Histogram::DEFAULT_BOUNDS;

    let ours = Histogram::new();
    let ours_values = values();

    let exponential = ExponentialHistogram::new();
    let exponential_values = values();

    let (provider, sdk) = sdk_histogram(bounds);
    let sdk_values = values();

    let client = prometheus_client::metrics::histogram::Histogram::new(bounds.iter().copied());
    let client_values = values();

    [
        Routine::new(group, "metrics_core", move || {
            for &value in &ours_values {
                black_box(&ours).record(black_box(value));
            }
        }),
        Routine::new(group, "opentelemetry_sdk", move || {
            let _keep = &provider;
            for &value in &sdk_values {
                black_box(&sdk).record(black_box(value), &[]);
            }
        }),
        Routine::new(group, "prometheus_client", move || {
            for &value in &client_values {
                black_box(&client).observe(black_box(value));
            }
        }),
        Routine::new(group, "metrics_core_exponential", move || {
            for &value in &exponential_values {
                black_box(&exponential).record(black_box(value));
            }
        }),
    ]
}

/// Two threads recording 20 rounds of the 1,000 values each into `histogram` at once.
fn two_threads<H: Send + Sync + 'static>(
    name: &'static str,
    histogram: H,
    record: fn(&H, f64),
) -> Routine {
    let histogram = Arc::new(histogram);
    let values: Arc<[f64]> = values().into();
    Routine::new("record_2_threads", name, move || {
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..20 {
                        for &value in values.iter() {
                            record(black_box(&histogram), black_box(value));
                        }
                    }
                });
            }
        });
    })
}

fn contended() -> [Routine; 3] {
    let bounds = Histogram::DEFAULT_BOUNDS;
    let (provider, sdk) = sdk_histogram(bounds);
    // The provider lives as long as the bench: the instrument records into its pipeline.
    std::mem::forget(provider);
    [
        two_threads("metrics_core", Histogram::new(), Histogram::record),
        two_threads("opentelemetry_sdk", sdk, |h, v| h.record(v, &[])),
        two_threads(
            "prometheus_client",
            prometheus_client::metrics::histogram::Histogram::new(bounds.iter().copied()),
            |h, v| h.observe(v),
        ),
    ]
}

fn read() -> [Routine; 4] {
    let explicit = Histogram::new();
    let exponential = ExponentialHistogram::new();
    for value in values() {
        explicit.record(value);
        exponential.record(value);
    }
    // The same values recorded by four threads, a quarter each: four shards to add up.
    let explicit_4 = Histogram::new();
    let exponential_4 = ExponentialHistogram::new();
    let values = values();
    std::thread::scope(|scope| {
        for quarter in values.chunks(values.len() / 4) {
            let (explicit_4, exponential_4) = (&explicit_4, &exponential_4);
            scope.spawn(move || {
                for &value in quarter {
                    explicit_4.record(value);
                    exponential_4.record(value);
                }
            });
        }
    });
    [
        Routine::new("read", "explicit", move || {
            black_box(black_box(&explicit).snapshot());
        }),
        Routine::new("read", "exponential", move || {
            black_box(black_box(&exponential).snapshot());
        }),
        Routine::new("read", "explicit_4_threads", move || {
            black_box(black_box(&explicit_4).snapshot());
        }),
        Routine::new("read", "exponential_4_threads", move || {
            black_box(black_box(&exponential_4).snapshot());
        }),
    ]
}

fn main() {
    support::main(
        || {
            record()
                .into_iter()
                .chain(contended())
                .chain(read())
                .collect()
        },
        |_, _| {},
    );
}
