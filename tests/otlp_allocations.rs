//! Heap allocations of `metrics_core::otlp`'s encoders: none per encode into a reused buffer
//! once warm (the first encode of a group type prepares its static parts, and the buffer
//! grows to the request's size).

mod support;

#[path = "support/counting_allocator.rs"]
mod counting_allocator;

#[path = "../benches/support/wide.rs"]
mod wide;

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use counting_allocator::allocations;
use metrics_core::otlp::{encode_json, encode_protobuf, OtlpContext};
use metrics_core::{DynMetricsGroup, ExponentialHistogram, Histogram, LabelMap, MetricsGroup};

#[derive(MetricsGroup)]
struct Labeled {
    /// Requests per worker.
    #[metric(counter, label = "worker")]
    requests: HashMap<String, u64>,
    /// Load per worker.
    #[metric(label = "worker")]
    load: HashMap<String, f64>,
}

/// Points with three attributes of each value type.
#[derive(MetricsGroup)]
struct Dimensional {
    /// Requests by route, status and cache hit.
    #[metric(counter, label = ("route", "status", "cached"))]
    requests: LabelMap<(String, u16, bool), u64>,
}

/// Histograms of both kinds, one per label.
#[derive(MetricsGroup)]
struct Distributions {
    #[metric(unit = "s", label = "route")]
    latency: LabelMap<String, Histogram>,
    wait: ExponentialHistogram,
}

#[test]
fn encoding_into_a_reused_buffer_allocates_nothing_once_warm() {
    let distributions = Distributions {
        latency: (0..100)
            .map(|i| {
                let histogram = Histogram::new();
                histogram.record(f64::from(i) / 10.0);
                (format!("/route/{i}"), histogram)
            })
            .collect(),
        wait: ExponentialHistogram::new(),
    };
    for i in 0..1000 {
        distributions.wait.record(f64::from(i) - 300.5);
    }
    let dimensional = Dimensional {
        requests: (0..1000_u32)
            .map(|i| {
                (
                    (format!("/route/{i}"), 200 + (i % 5) as u16, i % 2 == 0),
                    u64::from(i),
                )
            })
            .collect(),
    };
    let labeled = Labeled {
        requests: (0..1000).map(|i| (format!("worker-{i:04}"), i)).collect(),
        load: (0..1000)
            .map(|i| (format!("worker-{i:04}"), i as f64 / 3.0))
            .collect(),
    };
    let absent = support::snapshot::MetricsSnapshot {
        compaction: None,
        ..support::example_snapshot()
    };
    let example = support::example_snapshot();
    let wide = wide::Wide::sample(11);
    let cases: [(&str, &dyn DynMetricsGroup); 6] = [
        ("histograms", &distributions),
        ("1,000 points of 3 attributes", &dimensional),
        ("example snapshot", &example),
        ("example snapshot, compaction absent", &absent),
        ("wide, 200 fields", &wide),
        ("2 maps of 1,000 entries", &labeled),
    ];
    let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut context = OtlpContext::new([("service.name", "allocations")], start);
    for (name, group) in cases {
        for json in [false, true] {
            let mut buffer = Vec::new();
            let mut encode = |context: &OtlpContext| {
                buffer.clear();
                if json {
                    encode_json(group, context, &mut buffer);
                } else {
                    encode_protobuf(group, context, &mut buffer);
                }
            };
            encode(&context);
            let count = allocations(|| {
                for second in 1..=10 {
                    context.set_time(start + Duration::from_secs(second));
                    encode(&context);
                }
            });
            let format = if json { "JSON" } else { "protobuf" };
            assert_eq!(
                count, 0,
                "{name}, {format}: {count} allocations in 10 warm encodes"
            );
        }
    }
}

/// The counter sees allocations: the test above would see the encoder's.
#[test]
fn the_counter_counts() {
    let count = allocations(|| {
        std::hint::black_box(vec![1u8; 100]);
    });
    assert_eq!(count, 1);
}
