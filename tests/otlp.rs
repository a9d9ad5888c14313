//! The OTLP exporter against a real, independent receiver (Python, Google's protobuf runtime,
//! strict JSON parsing) on 127.0.0.1, for gRPC, HTTP/protobuf and HTTP/JSON.

mod support;

use std::collections::{BTreeMap, HashMap};

use metrics_core::config::{OtlpCompression, OtlpConfig, OtlpProtocol};
use metrics_core::export::OtlpExporter;
use metrics_core::schema::MetricKind;
use metrics_core::{MetricsConfig, MetricsExporter, MetricsGroup, Number, Visitor};
use serde_json::Value;
use support::example_snapshot;
use support::receiver::{metrics_by_name, Receiver};

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
        timeout_seconds: 5.0,
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

/// What the schema and a visitor say must arrive for one metric.
#[derive(Debug)]
struct Expected {
    name: String,
    kind: MetricKind,
    unit: &'static str,
    description: &'static str,
    label: Option<&'static str>,
    points: Vec<(Option<String>, Number)>,
}

fn expected<G: MetricsGroup>(group: &G) -> Vec<Expected> {
    struct Collect(Vec<Expected>, usize);
    impl Visitor for Collect {
        fn point(&mut self, label: Option<&str>, value: Number) {
            self.0[self.1]
                .points
                .push((label.map(str::to_owned), value));
        }
        fn advance(&mut self, metrics: usize) {
            self.1 += metrics;
        }
    }
    let all = G::SCHEMA
        .metrics()
        .map(|m| Expected {
            name: m.name,
            kind: m.descriptor.kind,
            unit: m.descriptor.unit,
            description: m.descriptor.description,
            label: m.descriptor.label,
            points: Vec::new(),
        })
        .collect();
    let mut collect = Collect(all, 0);
    group.visit(&mut collect);
    collect
        .0
        .into_iter()
        .filter(|e| !e.points.is_empty())
        .collect()
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

/// Asserts that `record` carries exactly the expected metrics, each with its kind,
/// monotonicity, temporality, unit, description, attributes and values.
fn assert_arrived(record: &Value, expected: &[Expected]) {
    let received = metrics_by_name(record);
    let names: Vec<&str> = expected.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(received.keys().map(String::as_str).collect::<Vec<_>>(), {
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted
    });
    for metric in expected {
        let got = &received[&metric.name];
        assert_eq!(
            got["unit"].as_str().unwrap_or(""),
            metric.unit,
            "{}",
            metric.name
        );
        assert_eq!(
            got["description"].as_str().unwrap_or(""),
            metric.description,
            "{}",
            metric.name
        );
        let data = match metric.kind {
            MetricKind::Gauge => &got["gauge"],
            MetricKind::Counter | MetricKind::UpDownCounter => {
                let sum = &got["sum"];
                assert_eq!(
                    sum["aggregation_temporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE",
                    "{}",
                    metric.name
                );
                let monotonic = sum["is_monotonic"].as_bool().unwrap_or(false);
                assert_eq!(
                    monotonic,
                    metric.kind == MetricKind::Counter,
                    "{}",
                    metric.name
                );
                sum
            }
        };
        assert!(data.is_object(), "{} arrived as {got}", metric.name);
        let mut got_points: Vec<(Option<String>, String)> = data["data_points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|point| {
                let attributes = point["attributes"].as_array().cloned().unwrap_or_default();
                let label = attributes.first().map(|kv| {
                    assert_eq!(kv["key"].as_str(), metric.label, "{}", metric.name);
                    kv["value"]["string_value"].as_str().unwrap().to_owned()
                });
                assert!(attributes.len() <= 1, "{}: {attributes:?}", metric.name);
                let value = match (&point["as_int"], &point["as_double"]) {
                    (Value::String(int), _) => int.clone(),
                    (_, Value::Number(double)) => format!("{:?}", double.as_f64().unwrap()),
                    other => panic!("{}: no value in {point} ({other:?})", metric.name),
                };
                (label, value)
            })
            .collect();
        let mut want_points: Vec<(Option<String>, String)> = metric
            .points
            .iter()
            .map(|(label, value)| {
                let value = match *value {
                    Number::U64(v) => v.to_string(),
                    Number::I64(v) => v.to_string(),
                    Number::F64(v) => format!("{v:?}"),
                };
                (label.clone(), value)
            })
            .collect();
        got_points.sort();
        want_points.sort();
        assert_eq!(got_points, want_points, "{}", metric.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_arrives_over_each_protocol() {
    let receiver = Receiver::start();
    let snapshot = example_snapshot();
    let want = expected(&snapshot);
    assert_eq!(
        want.len(),
        23,
        "all 19 reference metrics and 4 compaction metrics have points"
    );
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
    assert_arrived(&received[1], &expected(&snapshot));
    let second = metrics_by_name(&received[1]);
    assert!(!second.keys().any(|name| name.starts_with("compaction.")));
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
    assert_arrived(&received[1], &expected(&wide));
    let points = metrics_by_name(&received[1])["per_key"]["sum"]["data_points"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(points, 10_000);
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
    assert_eq!(
        metrics_by_name(&received[0]).keys().collect::<Vec<_>>(),
        ["other_total"]
    );
    assert_arrived(&received[1], &expected(&example_snapshot()));
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
    let first = expected(&gauges);
    exporter.export(&gauges).await.unwrap();
    gauges.depth.remove("a");
    gauges.ratio = None;
    gauges.level = 4;
    let second = expected(&gauges);
    exporter.export(&gauges).await.unwrap();
    let received = receiver.received();
    assert_arrived(&received[0], &first);
    assert_arrived(&received[1], &second);
    assert!(!metrics_by_name(&received[1]).contains_key("ratio"));
}
