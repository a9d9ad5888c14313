//! `metrics_core::prometheus` against literal expositions: names, units, kinds, escaping and
//! special values in both formats; no heap allocation once warm. (Names that collide once
//! mapped are compile errors: `tests/ui/prometheus_name_collision_*.rs`.)

mod support;

#[path = "support/counting_allocator.rs"]
mod counting_allocator;

use std::collections::{BTreeMap, HashMap};

use counting_allocator::allocations;
use metrics_core::prometheus::{to_writer, to_writer_with, Format, PrometheusError};
use metrics_core::{DynMetricsGroup, MetricsGroup};

#[derive(MetricsGroup)]
struct Disk {
    /// Bytes read.
    #[metric(counter, unit = "By")]
    read: u64,
    /// Free space, as a fraction.
    #[metric(unit = "1")]
    free: f64,
}

#[derive(MetricsGroup)]
struct Server {
    #[metric(
        counter,
        unit = "{request}",
        label = "http.path",
        description = "Requests \"served\", by path.\nA back\\slash too."
    )]
    requests: BTreeMap<String, u64>,
    /// In flight.
    #[metric(up_down_counter)]
    in_flight: i64,
    #[metric(unit = "ms")]
    latency: f64,
    disk: Disk,
    absent: Option<Disk>,
    #[metric(label = "worker")]
    empty: HashMap<String, u64>,
}

fn server() -> Server {
    Server {
        requests: BTreeMap::from([("/a\"b".to_owned(), u64::MAX), ("/c\\d\ne".to_owned(), 0)]),
        in_flight: -3,
        latency: f64::NAN,
        disk: Disk {
            read: 7,
            free: f64::NEG_INFINITY,
        },
        absent: None,
        empty: HashMap::new(),
    }
}

fn render(group: &dyn DynMetricsGroup, format: Format) -> String {
    let mut out = Vec::new();
    to_writer_with(group, format, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn text_format_names_types_escapes_and_spells_values() {
    let expected = r#"# HELP requests_total Requests "served", by path.\nA back\\slash too.
# TYPE requests_total counter
requests_total{http_path="/a\"b"} 18446744073709551615
requests_total{http_path="/c\\d\ne"} 0
# HELP in_flight In flight.
# TYPE in_flight gauge
in_flight -3
# TYPE latency_milliseconds gauge
latency_milliseconds NaN
# HELP disk_read_bytes_total Bytes read.
# TYPE disk_read_bytes_total counter
disk_read_bytes_total 7
# HELP disk_free_ratio Free space, as a fraction.
# TYPE disk_free_ratio gauge
disk_free_ratio -Inf
"#;
    assert_eq!(render(&server(), Format::Text), expected);
    let mut out = Vec::new();
    to_writer(&server(), &mut out).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn open_metrics_has_family_names_units_and_eof() {
    let expected = r#"# HELP requests Requests \"served\", by path.\nA back\\slash too.
# TYPE requests counter
requests_total{http_path="/a\"b"} 18446744073709551615
requests_total{http_path="/c\\d\ne"} 0
# HELP in_flight In flight.
# TYPE in_flight gauge
in_flight -3
# TYPE latency_milliseconds gauge
# UNIT latency_milliseconds milliseconds
latency_milliseconds NaN
# HELP disk_read_bytes Bytes read.
# TYPE disk_read_bytes counter
# UNIT disk_read_bytes bytes
disk_read_bytes_total 7
# HELP disk_free_ratio Free space, as a fraction.
# TYPE disk_free_ratio gauge
# UNIT disk_free_ratio ratio
disk_free_ratio -Inf
# EOF
"#;
    assert_eq!(render(&server(), Format::OpenMetrics), expected);
}

#[test]
fn a_failing_writer_is_an_io_error() {
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::WriteZero.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    assert!(matches!(
        to_writer(&server(), &mut Full),
        Err(PrometheusError::Io(_))
    ));
}

#[derive(MetricsGroup)]
struct Labeled {
    /// Requests per worker.
    #[metric(counter, label = "worker")]
    requests: HashMap<String, u64>,
    /// Load per worker.
    #[metric(label = "worker")]
    load: HashMap<String, f64>,
}

/// The example snapshot with points in its two-label counter and its histogram, which
/// `example_snapshot` leaves empty (so they write nothing).
fn filled_example_snapshot() -> support::snapshot::MetricsSnapshot {
    use support::snapshot::{Finished, LoadBalancerMetrics, Outcome, Queue};
    let mut snapshot = support::example_snapshot();
    snapshot.scheduler.agents_finished = metrics_core::LabelMap::from([
        (
            Finished {
                queue: Queue::Interactive,
                outcome: Outcome::Completed,
            },
            30,
        ),
        (
            Finished {
                queue: Queue::Batch,
                outcome: Outcome::Failed,
            },
            2,
        ),
    ]);
    let histogram =
        metrics_core::Histogram::with_bounds(LoadBalancerMetrics::ALLOCATION_TIME_BUCKETS).unwrap();
    for value in [0.0004, 0.002, 0.02] {
        histogram.record(value);
    }
    snapshot.load_balancer.allocation_time = histogram.snapshot();
    snapshot
}

#[test]
fn encoding_into_a_reused_buffer_allocates_nothing_once_warm() {
    let labeled = Labeled {
        requests: (0..1000).map(|i| (format!("worker-{i:04}"), i)).collect(),
        load: (0..1000)
            .map(|i| (format!("worker-{i:04}"), i as f64 / 3.0))
            .collect(),
    };
    let example = support::example_snapshot();
    let filled = filled_example_snapshot();
    let server = server();
    let cases: [(&str, &dyn DynMetricsGroup); 4] = [
        ("example snapshot", &example),
        (
            "example snapshot, labeled counter and histogram filled",
            &filled,
        ),
        ("escapes and special values", &server),
        ("2 maps of 1,000 entries", &labeled),
    ];
    for (name, group) in cases {
        for format in [Format::Text, Format::OpenMetrics] {
            let mut buffer = Vec::new();
            to_writer_with(group, format, &mut buffer).unwrap();
            let count = allocations(|| {
                for _ in 0..10 {
                    buffer.clear();
                    to_writer_with(group, format, &mut buffer).unwrap();
                }
            });
            assert_eq!(
                count, 0,
                "{name}, {format:?}: {count} allocations in 10 warm encodes"
            );
        }
    }
}

/// The counter sees allocations: the test above would see the encoder's.
#[test]
fn the_counter_counts() {
    assert!(allocations(|| drop(std::hint::black_box(vec![1u8; 64]))) >= 1);
}
