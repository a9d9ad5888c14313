//! The OTLP exporter against a real, independent receiver (Python, Google's protobuf runtime,
//! strict JSON parsing) on 127.0.0.1, for gRPC, HTTP/protobuf and HTTP/JSON. What must
//! arrive is written out by hand (`support::expected`), checked against what the receiver
//! decoded off the wire.

mod support;

use std::collections::{BTreeMap, HashMap};

use metrics_core::config::{OtlpCompression, OtlpConfig, OtlpProtocol};
use metrics_core::export::OtlpExporter;
use metrics_core::{MetricsConfig, MetricsExporter, MetricsGroup};
use serde_json::Value;
use support::example_snapshot;
use support::expected::{assert_arrived, example_metrics, Kind, Metric, Point};
use support::receiver::Receiver;

const PROTOCOLS: [OtlpProtocol; 3] = [
    OtlpProtocol::Grpc,
    OtlpProtocol::HttpBinary,
    OtlpProtocol::HttpJson,
];

fn otlp_config(receiver: &Receiver, protocol: OtlpProtocol) -> OtlpConfig {
    let endpoint = match protocol {
        OtlpProtocol::Grpc => receiver.grpc_url(),
        _ => receiver.http_url(),
    };
    OtlpConfig {
        protocol,
        // Generous: 10,000 points take the debug build over a second on loaded cores.
        timeout_seconds: 30.0,
        headers: HashMap::from([("x-api-key".to_string(), "sk-test-42".to_string())]),
        compression: OtlpCompression::Gzip,
        ..OtlpConfig::new(endpoint)
    }
}

fn exporter(otlp: &OtlpConfig) -> OtlpExporter {
    let config = MetricsConfig {
        service_name: "test-svc".into(),
        service_namespace: Some("test-ns".into()),
        ..MetricsConfig::default()
    };
    OtlpExporter::new(&config, otlp).unwrap()
}

fn resource_attributes(record: &Value) -> BTreeMap<String, String> {
    record["request"]["resource_metrics"][0]["resource"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| {
            (
                kv["key"].as_str().unwrap().to_owned(),
                kv["value"]["string_value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_arrives_over_each_protocol() {
    let receiver = Receiver::start();
    let snapshot = example_snapshot();
    let want = example_metrics();
    for protocol in PROTOCOLS {
        receiver.reset();
        let exporter = exporter(&otlp_config(&receiver, protocol));
        exporter
            .export(&snapshot)
            .await
            .unwrap_or_else(|e| panic!("{protocol}: {e}"));
        let received = receiver.received();
        assert_eq!(received.len(), 1, "{protocol}");
        let record = &received[0];
        assert_eq!(record["protocol"], protocol.as_str());
        assert_eq!(record["headers"]["x-api-key"], "sk-test-42", "{protocol}");
        assert_eq!(record["gzip"], true, "{protocol}");
        let resource = resource_attributes(record);
        assert_eq!(resource["service.name"], "test-svc");
        assert_eq!(resource["service.namespace"], "test-ns");
        assert_arrived(record, &want);
        exporter.shutdown().await.unwrap();
        assert!(
            receiver.rejected().is_empty(),
            "{protocol}: {:?}",
            receiver.rejected()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn later_exports_carry_new_values_and_absent_groups_vanish() {
    let receiver = Receiver::start();
    let mut otlp = otlp_config(&receiver, OtlpProtocol::HttpBinary);
    otlp.compression = OtlpCompression::None;
    let exporter = exporter(&otlp);
    let mut snapshot = example_snapshot();
    exporter.export(&snapshot).await.unwrap();
    snapshot.scheduler.total_scheduled += 8;
    snapshot.compaction = None;
    exporter.export(&snapshot).await.unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1]["gzip"], false);
    assert_arrived(&received[0], &example_metrics());
    let mut second = example_metrics();
    second.retain(|m| !m.name.starts_with("compaction."));
    second[0].points = vec![(None, Point::Int(50))];
    assert_eq!(second[0].name, "scheduler.total_scheduled");
    assert_eq!(second.len(), 19);
    assert_arrived(&received[1], &second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_labels_export_ten_thousand_points() {
    #[derive(MetricsGroup)]
    struct Wide {
        #[metric(counter, label = "key")]
        per_key: HashMap<String, u64>,
    }
    let receiver = Receiver::start();
    let exporter = exporter(&otlp_config(&receiver, OtlpProtocol::Grpc));
    let small = Wide {
        per_key: (0..10).map(|i| (format!("k{i}"), i)).collect(),
    };
    exporter.export(&small).await.unwrap();
    let wide = Wide {
        per_key: (0..10_000).map(|i| (format!("k{i}"), i)).collect(),
    };
    exporter.export(&wide).await.unwrap();
    let received = receiver.received();
    let want = Metric {
        name: "per_key",
        kind: Kind::Counter,
        unit: "",
        description: "",
        label: Some("key"),
        points: (0..10_000)
            .map(|i| (Some(format!("k{i}")), Point::Int(i)))
            .collect(),
    };
    assert_arrived(&received[1], &[want]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_group_types_share_an_exporter() {
    #[derive(MetricsGroup)]
    struct Other {
        #[metric(counter)]
        other_total: u64,
    }
    let receiver = Receiver::start();
    let exporter = exporter(&otlp_config(&receiver, OtlpProtocol::Grpc));
    exporter.export(&Other { other_total: 1 }).await.unwrap();
    exporter.export(&example_snapshot()).await.unwrap();
    let received = receiver.received();
    let other = Metric::one("other_total", Kind::Counter, "", "", Point::Int(1));
    assert_arrived(&received[0], &[other]);
    assert_arrived(&received[1], &example_metrics());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_final_and_debug_hides_headers() {
    let receiver = Receiver::start();
    let exporter = exporter(&otlp_config(&receiver, OtlpProtocol::Grpc));
    let debug = format!("{exporter:?}");
    assert!(
        !debug.contains("sk-test-42") && debug.contains("x-api-key"),
        "{debug}"
    );
    exporter.shutdown().await.unwrap();
    exporter.shutdown().await.unwrap();
    let error = exporter.export(&example_snapshot()).await.unwrap_err();
    assert!(error.to_string().contains("shut down"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gauge_points_that_are_gone_are_not_exported_again() {
    #[derive(MetricsGroup)]
    struct Gauges {
        /// Jobs waiting, per queue.
        #[metric(label = "queue")]
        depth: HashMap<String, u64>,
        ratio: Option<f64>,
        level: i64,
    }
    let receiver = Receiver::start();
    let exporter = exporter(&otlp_config(&receiver, OtlpProtocol::HttpBinary));
    let mut gauges = Gauges {
        depth: HashMap::from([("a".to_owned(), 1), ("b".to_owned(), 2)]),
        ratio: Some(0.5),
        level: -3,
    };
    exporter.export(&gauges).await.unwrap();
    gauges.depth.remove("a");
    gauges.ratio = None;
    gauges.level = 4;
    exporter.export(&gauges).await.unwrap();
    let received = receiver.received();
    let depth = |points: &[(&str, i64)]| {
        Metric::labeled(
            "depth",
            Kind::Gauge,
            "",
            "Jobs waiting, per queue.",
            "queue",
            points.iter().map(|&(queue, n)| (queue, Point::Int(n))),
        )
    };
    let first = [
        depth(&[("a", 1), ("b", 2)]),
        Metric::one("ratio", Kind::Gauge, "", "", Point::Double(0.5)),
        Metric::one("level", Kind::Gauge, "", "", Point::Int(-3)),
    ];
    let second = [
        depth(&[("b", 2)]),
        Metric::one("level", Kind::Gauge, "", "", Point::Int(4)),
    ];
    assert_arrived(&received[0], &first);
    assert_arrived(&received[1], &second);
}

/// The resource carries `service.namespace` only when one is configured, the default
/// `service.name` otherwise, and always the `telemetry.sdk.*` attributes; the scope is this
/// crate with its version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_and_scope_name_the_service_and_this_crate() {
    #[derive(MetricsGroup)]
    struct One {
        value: u64,
    }
    let receiver = Receiver::start();
    let otlp = otlp_config(&receiver, OtlpProtocol::HttpBinary);
    let named = MetricsConfig {
        service_name: "gateway".into(),
        service_namespace: Some("shop".into()),
        ..MetricsConfig::default()
    };
    for config in [MetricsConfig::default(), named] {
        OtlpExporter::new(&config, &otlp)
            .unwrap()
            .export(&One { value: 1 })
            .await
            .unwrap();
    }
    let received = receiver.received();
    let default = resource_attributes(&received[0]);
    assert!(default["service.name"].starts_with("unknown_service:otlp-"));
    assert!(!default.contains_key("service.namespace"), "{default:?}");
    let named = resource_attributes(&received[1]);
    assert_eq!(named["service.name"], "gateway");
    assert_eq!(named["service.namespace"], "shop");
    for resource in [default, named] {
        assert_eq!(resource["telemetry.sdk.name"], "metrics-core");
        assert_eq!(resource["telemetry.sdk.language"], "rust");
        assert_eq!(resource["telemetry.sdk.version"], env!("CARGO_PKG_VERSION"));
    }
    let scope = &received[0]["request"]["resource_metrics"][0]["scope_metrics"][0]["scope"];
    assert_eq!(scope["name"], "metrics-core");
    assert_eq!(scope["version"], env!("CARGO_PKG_VERSION"));
}

/// A counter's start time is the process start, the same at every export, while a labeled
/// map grows past 2,000 entries (the SDK's old cardinality limit, whose rebuilds reset it);
/// every point carries its export's time, later at each export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_time_is_stable_across_exports_as_a_map_grows() {
    #[derive(MetricsGroup)]
    struct Growing {
        #[metric(counter, label = "key")]
        per_key: HashMap<String, u64>,
    }
    let before = std::time::SystemTime::now();
    let receiver = Receiver::start();
    let exporter = exporter(&otlp_config(&receiver, OtlpProtocol::Grpc));
    for n in [10, 2_500, 5_000] {
        let group = Growing {
            per_key: (0..n).map(|i| (format!("k{i}"), i)).collect(),
        };
        exporter.export(&group).await.unwrap();
    }
    let received = receiver.received();
    let nanos = |value: &Value| -> u64 { value.as_str().unwrap().parse().unwrap() };
    let mut starts = Vec::new();
    let mut times = Vec::new();
    for (record, n) in received.iter().zip([10, 2_500, 5_000]) {
        let points = record["request"]["resource_metrics"][0]["scope_metrics"][0]["metrics"][0]
            ["sum"]["data_points"]
            .as_array()
            .unwrap();
        assert_eq!(points.len(), n);
        let start = nanos(&points[0]["start_time_unix_nano"]);
        let time = nanos(&points[0]["time_unix_nano"]);
        assert!(points
            .iter()
            .all(|p| nanos(&p["start_time_unix_nano"]) == start));
        assert!(points.iter().all(|p| nanos(&p["time_unix_nano"]) == time));
        starts.push(start);
        times.push(time);
    }
    assert_eq!(starts, [starts[0]; 3], "start time moved");
    let before = before
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    // The process started before this test did; the exporter was created after.
    assert!(
        starts[0] > 0 && starts[0] < before && before <= times[0],
        "{starts:?} {before} {times:?}"
    );
    assert!(times[0] < times[1] && times[1] < times[2], "{times:?}");
}

/// Histograms, exponential histograms and points of several attributes (string, integer,
/// bool) arrive over each protocol as the receiver's protobuf runtime decodes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histograms_and_label_sets_arrive_over_each_protocol() {
    use metrics_core::{ExponentialHistogram, Histogram, LabelMap};

    #[derive(MetricsGroup)]
    struct Gateway {
        /// Request latency by route, status and cache hit.
        #[metric(unit = "s", label = ("route", "status", "cached"), buckets = [0.1, 1])]
        latency: LabelMap<(String, u16, bool), Histogram>,
        /// Queue wait.
        #[metric(unit = "s")]
        wait: ExponentialHistogram,
    }
    let histogram = Histogram::with_bounds(Gateway::LATENCY_BUCKETS).unwrap();
    for value in [0.05, 0.5, 5.0] {
        histogram.record(value);
    }
    let wait = ExponentialHistogram::new();
    for value in [-1.0, 0.0, 2.0, 8.0] {
        wait.record(value);
    }
    let gateway = Gateway {
        latency: LabelMap::from([(("/users".to_owned(), 503, true), histogram)]),
        wait,
    };
    let receiver = Receiver::start();
    for protocol in PROTOCOLS {
        exporter(&otlp_config(&receiver, protocol))
            .export(&gateway)
            .await
            .unwrap();
    }
    let received = receiver.wait_for(3, std::time::Duration::from_secs(10));
    for (record, protocol) in received.iter().zip(PROTOCOLS) {
        let metrics = support::receiver::metrics_by_name(record);
        let latency = &metrics["latency"]["histogram"];
        assert_eq!(
            latency["aggregation_temporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE",
            "{protocol:?}"
        );
        let point = &latency["data_points"][0];
        assert_eq!(point["count"], "3", "{protocol:?}");
        assert_eq!(point["sum"], 5.55, "{protocol:?}");
        assert_eq!(point["bucket_counts"], serde_json::json!(["1", "1", "1"]));
        assert_eq!(point["explicit_bounds"], serde_json::json!([0.1, 1.0]));
        assert_eq!(
            (point["min"].clone(), point["max"].clone()),
            (0.05.into(), 5.0.into())
        );
        assert!(point["start_time_unix_nano"].is_string(), "{protocol:?}");
        assert_eq!(
            point["attributes"],
            serde_json::json!([
                { "key": "route", "value": { "string_value": "/users" } },
                { "key": "status", "value": { "int_value": "503" } },
                { "key": "cached", "value": { "bool_value": true } },
            ]),
            "{protocol:?}"
        );
        let wait = &metrics["wait"]["exponential_histogram"]["data_points"][0];
        assert_eq!(wait["count"], "4", "{protocol:?}");
        assert_eq!(wait["zero_count"], "1", "{protocol:?}");
        assert_eq!(wait["sum"], 9.0, "{protocol:?}");
        let positive: u64 = wait["positive"]["bucket_counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().parse::<u64>().unwrap())
            .sum();
        assert_eq!(positive, 2, "{protocol:?}");
        assert!(wait["scale"].as_i64().unwrap() <= 20, "{protocol:?}");
    }
}

/// A capped family's series arrive with every attribute of their keys, and its overflow
/// series with `otel.metric.overflow = true` alone, over each protocol.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_family_arrives_with_its_attributes_and_overflow_point_over_each_protocol() {
    use metrics_core::{Counter, Family};

    #[derive(MetricsGroup)]
    struct Live {
        /// Requests by route and status.
        #[metric(counter, label = ("route", "status"))]
        requests: Family<(String, u16), Counter>,
    }
    let live = Live {
        requests: Family::with_max_series(1),
    };
    live.requests
        .get_or_create(&("/users".to_owned(), 200))
        .add(5);
    live.requests
        .get_or_create(&("/orders".to_owned(), 404))
        .add(2);
    live.requests
        .get_or_create(&("/users".to_owned(), 500))
        .inc();
    let receiver = Receiver::start();
    for protocol in PROTOCOLS {
        exporter(&otlp_config(&receiver, protocol))
            .export(&live)
            .await
            .unwrap();
    }
    let received = receiver.wait_for(3, std::time::Duration::from_secs(10));
    for (record, protocol) in received.iter().zip(PROTOCOLS) {
        let metrics = support::receiver::metrics_by_name(record);
        let points = &metrics["requests"]["sum"]["data_points"];
        assert_eq!(
            points[0]["attributes"],
            serde_json::json!([
                { "key": "route", "value": { "string_value": "/users" } },
                { "key": "status", "value": { "int_value": "200" } },
            ]),
            "{protocol:?}"
        );
        assert_eq!(points[0]["as_int"], "5", "{protocol:?}");
        assert_eq!(
            points[1]["attributes"],
            serde_json::json!([
                { "key": "otel.metric.overflow", "value": { "bool_value": true } },
            ]),
            "{protocol:?}"
        );
        assert_eq!(points[1]["as_int"], "3", "{protocol:?}");
        assert!(points.get(2).is_none(), "{protocol:?}: {points}");
    }
}
