//! Prometheus text exposition: `metrics_core::prometheus` against measured's text encoder and
//! prometheus-client's `encode`, on the same 100k-series counter family (one label) and on the
//! reference snapshot (its labeled counter and histogram filled), declared with each.
//!
//! ```text
//! cargo bench --bench prometheus_encode -- --quick
//! BENCH_PAIRED=counter_family_100k cargo bench --bench prometheus_encode
//! BENCH_PAIRED=reference_snapshot BENCH_ROUNDS=101 cargo bench --bench prometheus_encode
//! BENCH_SHOW=1 BENCH_LIST=1 cargo bench --bench prometheus_encode   # the three expositions
//! scripts/callgrind.py prometheus_encode --iters 10
//! ```

#[path = "prometheus_encode/reference_peers.rs"]
mod reference_peers;
mod support;

use std::hint::black_box;

use lasso::ThreadedRodeo;
use measured::text::BufferedTextEncoder;
use measured::{CounterVec, LabelGroup, MetricGroup};
use metrics_core::prometheus::{to_writer_with, Format};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use support::{Labeled, Routine};

const SERIES: usize = 100_000;

#[derive(MetricGroup)]
struct MeasuredMetrics {
    /// Requests per worker. (measured does not add `_total` itself.)
    requests_total: CounterVec<WorkerSet>,
}

#[derive(Clone, Copy, PartialEq, Debug, LabelGroup)]
#[label(set = WorkerSet)]
struct Worker<'a> {
    #[label(dynamic_with = ThreadedRodeo)]
    worker: &'a str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WorkerLabel {
    worker: String,
}

/// The sample lines of an exposition, sorted: the encoders agree on the data, not the order.
fn samples(exposition: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8_lossy(exposition)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

fn counter_family() -> [Routine; 3] {
    let group = "counter_family_100k";
    let ours = Labeled {
        requests: support::entries(SERIES).collect(),
    };
    let measured = MeasuredMetrics {
        requests_total: CounterVec::with_label_set(WorkerSet {
            worker: ThreadedRodeo::new(),
        }),
    };
    let family = Family::<WorkerLabel, Counter>::default();
    let mut registry = Registry::default();
    registry.register("requests", "Requests per worker.", family.clone());
    for (worker, count) in support::entries(SERIES) {
        measured
            .requests_total
            .inc_by(Worker { worker: &worker }, count);
        family.get_or_create(&WorkerLabel { worker }).inc_by(count);
    }

    let mut buffer = Vec::new();
    to_writer_with(&ours, Format::Text, &mut buffer).unwrap();
    let mut encoder = BufferedTextEncoder::new();
    measured.collect_group_into(&mut encoder).unwrap();
    let measured_text = encoder.finish();
    let mut client_text = String::new();
    prometheus_client::encoding::text::encode(&mut client_text, &registry).unwrap();
    let expected = samples(&buffer);
    assert_eq!(expected.len(), SERIES);
    assert!(
        expected == samples(&measured_text),
        "{group}: measured's samples differ"
    );
    assert!(
        expected == samples(client_text.as_bytes()),
        "{group}: prometheus-client's samples differ"
    );
    let mut client_buffer = String::with_capacity(client_text.len());
    [
        Routine::new(group, "metrics_core", move || {
            buffer.clear();
            to_writer_with(black_box(&ours), Format::Text, &mut buffer).unwrap();
            black_box(&buffer);
        }),
        Routine::new(group, "measured", move || {
            black_box(&measured)
                .collect_group_into(&mut encoder)
                .unwrap();
            black_box(encoder.finish());
        }),
        Routine::new(group, "prometheus_client", move || {
            client_buffer.clear();
            prometheus_client::encoding::text::encode(&mut client_buffer, black_box(&registry))
                .unwrap();
            black_box(&client_buffer);
        }),
    ]
}

/// The series of an exposition's sample lines (each line without its value, blank lines
/// between families left out), sorted.
fn series(exposition: &[u8]) -> Vec<String> {
    let mut series: Vec<String> = samples(exposition)
        .iter()
        .filter(|line| !line.is_empty())
        .map(|line| {
            line.rsplit_once(' ')
                .map_or(line.as_str(), |(s, _)| s)
                .to_owned()
        })
        .collect();
    series.sort();
    series
}

/// The reference snapshot (compaction, a filled labeled counter and histogram) encoded by us
/// in both formats, by prometheus-client and by measured, last so that the scripts' ratios
/// are to measured's. `BENCH_SHOW=1` prints the three expositions once.
fn reference_snapshot() -> [Routine; 4] {
    let group = "reference_snapshot";
    let snapshot = reference_peers::snapshot();
    let measured = reference_peers::measured(&snapshot);
    let registry = reference_peers::prometheus_client(&snapshot);

    let mut ours_text = Vec::new();
    to_writer_with(&snapshot, Format::Text, &mut ours_text).unwrap();
    let mut encoder = BufferedTextEncoder::new();
    measured.collect_group_into(&mut encoder).unwrap();
    let measured_text = encoder.finish();
    let mut client_text = String::new();
    prometheus_client::encoding::text::encode(&mut client_text, &registry).unwrap();
    if std::env::var_os("BENCH_SHOW").is_some() {
        let ours = String::from_utf8_lossy(&ours_text);
        let measured = String::from_utf8_lossy(&measured_text);
        eprintln!(
            "--- metrics_core\n{ours}--- measured\n{measured}--- prometheus_client\n{client_text}"
        );
    }
    let expected = series(&ours_text);
    assert_eq!(expected.len(), 41, "{group}: 41 samples");
    assert_eq!(
        expected,
        series(&measured_text),
        "{group}: measured's series differ"
    );
    assert_eq!(
        expected,
        series(client_text.as_bytes()),
        "{group}: prometheus-client's series differ"
    );

    let [text, openmetrics] = [Format::Text, Format::OpenMetrics].map(|format| {
        let snapshot = snapshot.clone();
        let mut buffer = Vec::new();
        let name = match format {
            Format::Text => "metrics_core_text",
            Format::OpenMetrics => "metrics_core_openmetrics",
        };
        Routine::new(group, name, move || {
            buffer.clear();
            to_writer_with(black_box(&snapshot), format, &mut buffer).unwrap();
            black_box(&buffer);
        })
    });
    let mut client_buffer = String::with_capacity(client_text.len());
    [
        text,
        openmetrics,
        Routine::new(group, "prometheus_client", move || {
            client_buffer.clear();
            prometheus_client::encoding::text::encode(&mut client_buffer, black_box(&registry))
                .unwrap();
            black_box(&client_buffer);
        }),
        Routine::new(group, "measured", move || {
            black_box(&measured)
                .collect_group_into(&mut encoder)
                .unwrap();
            black_box(encoder.finish());
        }),
    ]
}

fn routines() -> Vec<Routine> {
    counter_family()
        .into_iter()
        .chain(reference_snapshot())
        .collect()
}

fn main() {
    support::main(routines, |_, _| {});
}
