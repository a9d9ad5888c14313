//! Derived groups on the user's own OpenTelemetry SDK (`metrics_core::otel`): a provider built
//! from our configuration carries its own synchronous histogram and a registered group through
//! its PeriodicReader to the real receiver (Python, on 127.0.0.1), over each protocol. The
//! values that must arrive are literals; the source counts its calls (one per collection).

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use metrics_core::config::{OtlpCompression, OtlpConfig, OtlpProtocol};
use metrics_core::otel::{meter_provider, register, Registration};
use metrics_core::{MetricsConfig, MetricsError, MetricsGroup};
use opentelemetry::metrics::{Histogram, MeterProvider};
use opentelemetry_sdk::metrics::SdkMeterProvider;
use serde_json::Value;
use support::expected::{assert_metric, Kind, Metric, Point};
use support::receiver::{metrics_by_name, Receiver};

#[derive(MetricsGroup)]
struct Service {
    queue: Queue,
}

#[derive(MetricsGroup)]
struct Queue {
    /// Jobs accepted since start.
    #[metric(counter, unit = "{job}")]
    accepted: u64,
    /// Jobs being worked on.
    #[metric(up_down_counter)]
    in_flight: i64,
    /// How full the queue is.
    #[metric(unit = "1")]
    fill_ratio: f64,
    /// Jobs accepted, by priority.
    #[metric(counter, label = "priority")]
    accepted_by_priority: HashMap<String, u64>,
}

/// The snapshot of the `n`th call: every value depends on `n`, so a stale or doubled
/// snapshot shows.
fn snapshot(n: u64) -> Service {
    Service {
        queue: Queue {
            accepted: 10 * n,
            in_flight: -(n as i64),
            fill_ratio: 0.25 * n as f64,
            accepted_by_priority: HashMap::from([("high".into(), n), ("low".into(), 2 * n)]),
        },
    }
}

/// The group's metrics as the snapshot of call `n` must arrive, written out.
fn expected_group(n: u64) -> Vec<Metric> {
    let (accepted, in_flight, fill_ratio, high, low) = match n {
        1 => (10, -1, 0.25, 1, 2),
        2 => (20, -2, 0.5, 2, 4),
        3 => (30, -3, 0.75, 3, 6),
        _ => unreachable!("no literals for call {n}"),
    };
    vec![
        Metric::one(
            "queue.accepted",
            Kind::Counter,
            "{job}",
            "Jobs accepted since start.",
            Point::Int(accepted),
        ),
        Metric::one(
            "queue.in_flight",
            Kind::UpDownCounter,
            "",
            "Jobs being worked on.",
            Point::Int(in_flight),
        ),
        Metric::one(
            "queue.fill_ratio",
            Kind::Gauge,
            "1",
            "How full the queue is.",
            Point::Double(fill_ratio),
        ),
        Metric {
            name: "queue.accepted_by_priority",
            kind: Kind::Counter,
            unit: "",
            description: "Jobs accepted, by priority.",
            label: Some("priority"),
            points: vec![
                (Some("high".into()), Point::Int(high)),
                (Some("low".into()), Point::Int(low)),
            ],
        },
    ]
}

const GROUP_NAMES: [&str; 4] = [
    "queue.accepted",
    "queue.accepted_by_priority",
    "queue.fill_ratio",
    "queue.in_flight",
];

fn config(receiver: &Receiver, protocol: OtlpProtocol, interval_seconds: u64) -> MetricsConfig {
    MetricsConfig {
        export_interval_seconds: interval_seconds,
        service_name: "bridge-svc".into(),
        service_namespace: Some("bridge-ns".into()),
        resource_attributes: BTreeMap::from([("deployment.environment".into(), "test".into())]),
        otlp: Some(OtlpConfig {
            protocol,
            timeout_seconds: 30.0,
            headers: HashMap::from([("x-api-key".into(), "sk-bridge-7".into())]),
            compression: OtlpCompression::Gzip,
            ..OtlpConfig::new(receiver.url(protocol))
        }),
        ..MetricsConfig::default()
    }
}

/// A provider from `config`, its histogram, and the group registered with a counting source.
struct Setup {
    provider: SdkMeterProvider,
    histogram: Histogram<f64>,
    registration: Registration,
    calls: Arc<AtomicUsize>,
}

fn setup(config: &MetricsConfig) -> Setup {
    let provider = meter_provider(config).unwrap();
    let meter = provider.meter("bridge-test");
    let histogram = meter
        .f64_histogram("request.duration")
        .with_unit("s")
        .with_description("Request latency.")
        .build();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let registration = register(&meter, move || {
        let n = counter.fetch_add(1, Ordering::SeqCst) as u64 + 1;
        snapshot(n)
    });
    assert!(registration.unbridged().is_empty());
    Setup {
        provider,
        histogram,
        registration,
        calls,
    }
}

/// Asserts the histogram's cumulative count and sum in `record`.
fn assert_histogram(record: &Value, count: u64, sum: f64) {
    let metrics = metrics_by_name(record);
    let histogram = &metrics["request.duration"];
    assert_eq!(histogram["unit"], "s");
    assert_eq!(histogram["description"], "Request latency.");
    let point = &histogram["histogram"]["data_points"][0];
    assert_eq!(point["count"], count.to_string(), "{histogram}");
    assert_eq!(point["sum"], sum, "{histogram}");
}

fn assert_group(record: &Value, n: u64) {
    let metrics = metrics_by_name(record);
    for want in expected_group(n) {
        let got = metrics
            .get(want.name)
            .unwrap_or_else(|| panic!("{} missing from {record}", want.name));
        assert_metric(got, &want);
    }
}

/// No metric of the group has a data point in `record` (the SDK may still list one).
fn group_absent(record: &Value) -> bool {
    let metrics = metrics_by_name(record);
    GROUP_NAMES.iter().all(|name| {
        metrics.get(*name).is_none_or(|metric| {
            ["sum", "gauge"].iter().all(|data| {
                metric[data]["data_points"]
                    .as_array()
                    .is_none_or(Vec::is_empty)
            })
        })
    })
}

fn resource(record: &Value) -> BTreeMap<String, String> {
    record["request"]["resource_metrics"][0]["resource"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| {
            let value = kv["value"]["string_value"].as_str().unwrap_or_default();
            (kv["key"].as_str().unwrap().to_owned(), value.to_owned())
        })
        .collect()
}

/// Flush, then shutdown: each is one collection through the PeriodicReader's thread with one
/// call of the source; both arrive with the histogram, the snapshot's values, the resource,
/// headers and gzip.
fn flush_and_shutdown_deliver(protocol: OtlpProtocol) {
    let receiver = Receiver::start();
    let setup = setup(&config(&receiver, protocol, 3600));
    setup.histogram.record(0.5, &[]);
    setup.histogram.record(1.5, &[]);

    setup.provider.force_flush().unwrap();
    let received = receiver.wait_for(1, Duration::from_secs(30));
    assert_eq!(received.len(), 1, "{protocol}");
    assert_eq!(
        setup.calls.load(Ordering::SeqCst),
        1,
        "one snapshot per collection"
    );
    let record = &received[0];
    assert_eq!(record["protocol"], protocol.as_str());
    assert_eq!(record["headers"]["x-api-key"], "sk-bridge-7", "{protocol}");
    assert_eq!(record["gzip"], true, "{protocol}");
    assert_eq!(
        resource(record),
        BTreeMap::from([
            ("deployment.environment".into(), "test".into()),
            ("service.name".into(), "bridge-svc".into()),
            ("service.namespace".into(), "bridge-ns".into()),
        ])
    );
    assert_group(record, 1);
    assert_histogram(record, 2, 2.0);

    setup.histogram.record(3.0, &[]);
    setup.provider.shutdown().unwrap();
    let received = receiver.wait_for(2, Duration::from_secs(30));
    assert_eq!(
        received.len(),
        2,
        "{protocol}: shutdown exports the last collection"
    );
    assert_eq!(setup.calls.load(Ordering::SeqCst), 2);
    assert_group(&received[1], 2);
    assert_histogram(&received[1], 3, 5.0);
    drop(setup.registration);
}

#[test]
fn http_protobuf_flush_and_shutdown_deliver() {
    flush_and_shutdown_deliver(OtlpProtocol::HttpBinary);
}

#[test]
fn http_json_flush_and_shutdown_deliver() {
    flush_and_shutdown_deliver(OtlpProtocol::HttpJson);
}

/// gRPC (tonic) needs a multi-threaded Tokio runtime for its connection; the reader's thread
/// and the blocking calls stay off the runtime's workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_flush_and_shutdown_deliver() {
    tokio::task::spawn_blocking(|| flush_and_shutdown_deliver(OtlpProtocol::Grpc))
        .await
        .unwrap();
}

/// Without any flush, the reader's own timer exports; every export is one collection and one
/// call of the source.
#[test]
fn the_periodic_reader_exports_on_its_interval() {
    let receiver = Receiver::start();
    let setup = setup(&config(&receiver, OtlpProtocol::HttpBinary, 1));
    setup.histogram.record(0.5, &[]);
    let received = receiver.wait_for(2, Duration::from_secs(60));
    assert_group(&received[0], 1);
    assert_group(&received[1], 2);
    setup.provider.shutdown().unwrap();
    let exports = receiver.received().len();
    assert_eq!(setup.calls.load(Ordering::SeqCst), exports);
}

/// Dropping the registration stops the reporting at the next collection and releases the
/// source; the provider's own instruments go on.
#[test]
fn dropping_the_registration_stops_the_reporting() {
    let receiver = Receiver::start();
    let provider = meter_provider(&config(&receiver, OtlpProtocol::HttpBinary, 3600)).unwrap();
    let meter = provider.meter("bridge-test");
    let histogram = meter
        .f64_histogram("request.duration")
        .with_unit("s")
        .with_description("Request latency.")
        .build();
    histogram.record(0.5, &[]);
    let captured = Arc::new(());
    let held = Arc::clone(&captured);
    let registration = register(&meter, move || {
        let _held = &held;
        snapshot(1)
    });

    provider.force_flush().unwrap();
    drop(registration);
    assert_eq!(Arc::strong_count(&captured), 1, "the source is dropped");
    provider.force_flush().unwrap();
    provider.shutdown().unwrap();

    let received = receiver.received();
    assert_eq!(received.len(), 3);
    assert_group(&received[0], 1);
    for record in &received[1..] {
        assert!(group_absent(record), "still reported after drop: {record}");
        assert_histogram(record, 1, 0.5);
    }
}

/// A panicking source costs one collection of the group, not the reader's thread: the
/// histogram still arrives, and the next collection has the group again.
#[test]
fn a_panicking_source_skips_one_collection() {
    let receiver = Receiver::start();
    let provider = meter_provider(&config(&receiver, OtlpProtocol::HttpBinary, 3600)).unwrap();
    let meter = provider.meter("bridge-test");
    let histogram = meter
        .f64_histogram("request.duration")
        .with_unit("s")
        .with_description("Request latency.")
        .build();
    histogram.record(0.5, &[]);
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let _registration = register(&meter, move || {
        let n = counter.fetch_add(1, Ordering::SeqCst) as u64 + 1;
        assert!(n != 1, "the source fails once");
        snapshot(n)
    });

    provider.force_flush().unwrap();
    provider.force_flush().unwrap();
    provider.shutdown().unwrap();

    let received = receiver.received();
    assert_eq!(received.len(), 3);
    assert!(group_absent(&received[0]), "{}", received[0]);
    assert_histogram(&received[0], 1, 0.5);
    assert_group(&received[1], 2);
    assert_group(&received[2], 3);
}

#[test]
fn a_configuration_without_otlp_is_refused() {
    let error = meter_provider(&MetricsConfig::default()).unwrap_err();
    assert!(
        matches!(&error, MetricsError::Config { field, .. } if field == "otlp"),
        "{error}"
    );
}

#[test]
fn grpc_outside_a_tokio_runtime_is_an_error_not_a_panic() {
    let config = MetricsConfig {
        otlp: Some(OtlpConfig::new("http://127.0.0.1:4317")),
        ..MetricsConfig::default()
    };
    let error = meter_provider(&config).unwrap_err();
    assert!(
        matches!(&error, MetricsError::Otlp { message, .. } if message.contains("Tokio runtime")),
        "{error}"
    );
}

/// The example binary `cargo test` builds next to the test binaries.
fn example_binary() -> std::path::PathBuf {
    let deps = std::env::current_exe().unwrap();
    let binary = deps
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join("own_provider");
    assert!(binary.exists(), "{} not built", binary.display());
    binary
}

/// examples/own_provider.rs over gRPC: its histogram and its live group arrive, and the last
/// export (at shutdown) has every job it reports as finished.
#[test]
fn the_example_exports_its_histogram_and_group() {
    let receiver = Receiver::start();
    let output = std::process::Command::new(example_binary())
        .args(["--duration", "1.5"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.grpc_url())
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
        .env_remove("OTEL_SERVICE_NAME")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(!stderr.contains("failed"), "{stderr}");
    let jobs: i64 = stdout
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no job count in {stdout:?}"));
    assert!(jobs > 0, "{stdout}");

    let received = receiver.received();
    let last = received.last().expect("at least the shutdown's export");
    assert_eq!(last["protocol"], "grpc");
    assert_eq!(resource(last)["service.name"], "own-provider-example");
    let metrics = metrics_by_name(last);
    let point = |name: &str| metrics[name]["sum"]["data_points"][0]["as_int"].clone();
    assert_eq!(point("jobs_done"), jobs.to_string());
    assert_eq!(point("jobs_in_flight"), "0");
    let histogram = &metrics["job.duration"]["histogram"]["data_points"][0];
    assert_eq!(histogram["count"], jobs.to_string());
}

/// A collector that never answers costs the configured timeout, not a hung reader: the flush
/// fails, and once the collector answers again the next one delivers.
#[test]
fn a_black_hole_collector_times_out_and_the_reader_recovers() {
    let receiver = Receiver::start();
    let mut config = config(&receiver, OtlpProtocol::HttpBinary, 3600);
    config.otlp.as_mut().unwrap().timeout_seconds = 1.0;
    let setup = setup(&config);
    receiver.fault(serde_json::json!({"mode": "blackhole"}));

    let started = std::time::Instant::now();
    let flushed = setup.provider.force_flush();
    let elapsed = started.elapsed();
    receiver.fault(serde_json::json!({"mode": "none"}));
    assert!(flushed.is_err(), "a held request is not a success");
    // Measured about 1 s (the timeout); generous for two loaded cores.
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");

    receiver.reset();
    setup.provider.force_flush().unwrap();
    let received = receiver.wait_for(1, Duration::from_secs(30));
    assert_group(received.last().unwrap(), 2);
    setup.provider.shutdown().unwrap();
}

/// Our histograms have no observable instrument in the OpenTelemetry API: the registration
/// says so for each, and registers every other metric of the group, with all its attributes.
#[test]
fn histograms_are_listed_as_unbridged_and_label_sets_become_attributes() {
    use metrics_core::{ExponentialHistogram, Histogram as OurHistogram, LabelMap};

    #[derive(MetricsGroup)]
    struct Api {
        #[metric(unit = "s")]
        latency: OurHistogram,
        wait: ExponentialHistogram,
        /// Requests by route and status.
        #[metric(counter, label = ("route", "status"))]
        requests: LabelMap<(String, u16), u64>,
    }
    let provider = SdkMeterProvider::builder().build();
    let registration = register(&provider.meter("api"), || Api {
        latency: OurHistogram::new(),
        wait: ExponentialHistogram::new(),
        requests: LabelMap::from([(("/users".to_owned(), 200), 3)]),
    });
    let unbridged: Vec<&str> = registration
        .unbridged()
        .iter()
        .map(|u| u.name.as_str())
        .collect();
    assert_eq!(unbridged, ["latency", "wait"]);
    assert!(registration.unbridged()[0]
        .reason
        .contains("observable histogram"));
}
