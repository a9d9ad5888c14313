//! The times OTLP points carry: a group's `#[metric(timestamp)]` field (a `SystemTime`, or an
//! integer in `s`, `ms`, `us` or `ns`) and `#[metric(start_time)]` field, else the export's
//! time and the process start; gauges carry no start time. Checked on the encoder's bytes
//! (decoded with opentelemetry-proto) and at the receiver, over gRPC and HTTP.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics_core::config::{MetricsConfig, OtlpConfig, OtlpProtocol};
use metrics_core::export::OtlpExporter;
use metrics_core::otlp::{encode_json, encode_protobuf, OtlpContext};
use metrics_core::{MetricsExporter, MetricsGroup, PointTimes};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use prost::Message;
use serde_json::Value;
use support::receiver::{metrics_by_name, Receiver};

const CONTEXT_START: u64 = 1_000_000_000_000_000_000;
const CONTEXT_TIME: u64 = 1_600_000_000_000_000_000;

/// A snapshot with a `SystemTime` time and an optional start time.
#[derive(MetricsGroup, serde::Serialize)]
struct Stamped {
    #[metric(timestamp)]
    taken: SystemTime,
    #[metric(start_time)]
    since: Option<SystemTime>,
    #[metric(counter)]
    jobs: u64,
    depth: u32,
}

/// Integer times in milliseconds and nanoseconds.
#[derive(MetricsGroup, serde::Serialize)]
struct Millis {
    #[metric(timestamp, unit = "ms")]
    taken_ms: i64,
    #[metric(start_time, unit = "ns")]
    since_ns: u64,
    #[metric(up_down_counter)]
    open: i64,
}

/// `(name, start_time_unix_nano, time_unix_nano)` of every point of the protobuf encoding.
fn point_times(group: &dyn metrics_core::DynMetricsGroup) -> Vec<(String, u64, u64)> {
    let mut context = OtlpContext::new(
        [("service.name", "times")],
        UNIX_EPOCH + Duration::from_nanos(CONTEXT_START),
    );
    context.set_time_unix_nano(CONTEXT_TIME);
    let mut body = Vec::new();
    encode_protobuf(group, &context, &mut body);
    let request = ExportMetricsServiceRequest::decode(&body[..]).unwrap();
    let mut out = Vec::new();
    for metric in &request.resource_metrics[0].scope_metrics[0].metrics {
        let points = match metric.data.as_ref().unwrap() {
            Data::Gauge(gauge) => &gauge.data_points,
            Data::Sum(sum) => &sum.data_points,
            other => panic!("unexpected {other:?}"),
        };
        for point in points {
            out.push((
                metric.name.clone(),
                point.start_time_unix_nano,
                point.time_unix_nano,
            ));
        }
    }
    out
}

#[test]
fn marked_fields_give_the_points_times() {
    let taken = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
    let since = UNIX_EPOCH + Duration::from_secs(1_690_000_000);
    let stamped = Stamped {
        taken,
        since: Some(since),
        jobs: 4,
        depth: 2,
    };
    assert_eq!(
        point_times(&stamped),
        [
            (
                "jobs".to_owned(),
                1_690_000_000_000_000_000,
                1_700_000_000_123_456_789
            ),
            // A gauge has no start time.
            ("depth".to_owned(), 0, 1_700_000_000_123_456_789),
        ]
    );
    // No start time given: the context's.
    let unstarted = Stamped {
        since: None,
        ..stamped
    };
    assert_eq!(
        point_times(&unstarted)[0],
        ("jobs".to_owned(), CONTEXT_START, 1_700_000_000_123_456_789)
    );
    let millis = Millis {
        taken_ms: 1_700_000_000_250,
        since_ns: 42,
        open: -3,
    };
    assert_eq!(
        point_times(&millis),
        [("open".to_owned(), 42, 1_700_000_000_250_000_000)]
    );
    // Before 1970: 0, as a `SystemTime` before the epoch is.
    let negative = Millis {
        taken_ms: -5,
        ..millis
    };
    assert_eq!(point_times(&negative)[0].2, 0);
}

#[test]
fn a_group_without_marked_fields_takes_the_contexts_times() {
    #[derive(MetricsGroup)]
    struct Plain {
        #[metric(counter)]
        jobs: u64,
        depth: u32,
    }
    let plain = Plain { jobs: 1, depth: 2 };
    assert_eq!(plain.point_times(), PointTimes::default());
    assert_eq!(
        point_times(&plain),
        [
            ("jobs".to_owned(), CONTEXT_START, CONTEXT_TIME),
            ("depth".to_owned(), 0, CONTEXT_TIME),
        ]
    );
}

#[test]
fn time_fields_are_in_the_json_and_not_metrics() {
    let stamped = Stamped {
        taken: UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        since: None,
        jobs: 4,
        depth: 2,
    };
    let names: Vec<String> = Stamped::SCHEMA.metrics().map(|m| m.name).collect();
    assert_eq!(names, ["jobs", "depth"]);
    assert_eq!(
        metrics_core::json::to_string(&stamped).unwrap(),
        serde_json::to_string(&stamped).unwrap()
    );
    // OTLP/JSON carries the same times as the protobuf.
    let context = OtlpContext::new([("service.name", "times")], UNIX_EPOCH);
    let mut body = Vec::new();
    encode_json(&stamped, &context, &mut body);
    let request: Value = serde_json::from_slice(&body).unwrap();
    let point =
        &request["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][1]["gauge"]["dataPoints"][0];
    assert_eq!(point["timeUnixNano"], "1700000000000000000");
}

/// The example's `timestamp` (seconds) is every point's time at the receiver; its counters
/// start at the process start, before the exporter was made; its gauges have no start time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_snapshot_time_reaches_the_collector() {
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let receiver = Receiver::start();
    let snapshot = support::example_snapshot();
    let expected_time = (snapshot.timestamp * 1_000_000_000).to_string();
    for protocol in [OtlpProtocol::Grpc, OtlpProtocol::HttpJson] {
        let otlp = OtlpConfig {
            protocol,
            ..OtlpConfig::new(receiver.url(protocol))
        };
        let exporter = OtlpExporter::new(&MetricsConfig::default(), &otlp).unwrap();
        exporter.export(&snapshot).await.unwrap();
    }
    let received = receiver.wait_for(2, Duration::from_secs(10));
    for record in &received {
        let metrics = metrics_by_name(record);
        assert!(metrics.len() > 10, "{}", metrics.len());
        for (name, metric) in metrics {
            let (points, is_sum) = match (&metric["sum"], &metric["gauge"]) {
                (Value::Null, gauge) => (&gauge["data_points"], false),
                (sum, _) => (&sum["data_points"], true),
            };
            for point in points.as_array().unwrap() {
                assert_eq!(point["time_unix_nano"], expected_time.as_str(), "{name}");
                if is_sum {
                    let start: u64 = point["start_time_unix_nano"]
                        .as_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert!(start > 0 && start < before, "{name}: {start} {before}");
                } else {
                    assert!(
                        point.get("start_time_unix_nano").is_none(),
                        "{name}: {point}"
                    );
                }
            }
        }
    }
}
