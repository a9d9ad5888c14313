//! `metrics_core::otlp` against independent decoders and against today's SDK path.
//!
//! - Protobuf: our bytes, decoded with opentelemetry-proto's prost types, equal the request
//!   the SDK path sends for the same snapshot (`SdkPath::collect_without_sending` in
//!   benches/support/sdk_path.rs: an opentelemetry_sdk pipeline and manual reader, then
//!   opentelemetry-proto's conversion, as the HTTP/protobuf transport does), once the
//!   differences that are the point of the encoder are set aside: timestamps (checked
//!   against the context instead), the `telemetry.sdk.*` resource attributes and the scope's
//!   version, which the SDK path does not send; and the order of attributes, metrics and
//!   points, which OTLP gives no meaning.
//! - JSON: our OTLP/JSON, parsed by Google's protobuf runtime in Python with the strict
//!   `json_format.Parse` (the OTLP test receiver's venv), is exactly the message our protobuf
//!   decodes to.

mod support;

#[path = "../benches/support/wide.rs"]
mod wide;

#[path = "../benches/support/sdk_path.rs"]
mod sdk_path;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics_core::otlp::{encode_json, encode_protobuf, OtlpContext};
use metrics_core::{
    DynMetricsGroup, ExponentialHistogram, Histogram, LabelMap, LabelSet, LabelValue,
    MetricsConfig, MetricsGroup, PointTimes,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
use opentelemetry_proto::tonic::metrics::v1::{Metric, NumberDataPoint};
use prost::Message;

const START: u64 = 1_700_000_000_123_456_789;
const TIME: u64 = 1_700_000_060_987_654_321;

/// The configuration both paths take their resource from.
fn config() -> MetricsConfig {
    MetricsConfig {
        service_name: "encoder-test".to_owned(),
        service_namespace: Some("tests".to_owned()),
        resource_attributes: BTreeMap::from([
            ("deployment.environment".to_owned(), "ci".to_owned()),
            ("host.name".to_owned(), "a \"quoted\" host\n".to_owned()),
        ]),
        ..MetricsConfig::default()
    }
}

fn context() -> OtlpContext {
    let config = config();
    let mut attributes = vec![
        ("service.name".to_owned(), config.service_name),
        (
            "service.namespace".to_owned(),
            config.service_namespace.unwrap(),
        ),
    ];
    attributes.extend(config.resource_attributes);
    let mut context = OtlpContext::new(attributes, UNIX_EPOCH + Duration::from_nanos(START));
    context.set_time_unix_nano(TIME);
    context
}

/// What the SDK path sends for `group`.
fn sdk_request(group: &dyn DynMetricsGroup) -> ExportMetricsServiceRequest {
    sdk_path::SdkPath::new(&config())
        .collect_without_sending(group, |metrics| ExportMetricsServiceRequest::from(metrics))
        .expect("collect")
}

fn ours(group: &dyn DynMetricsGroup) -> ExportMetricsServiceRequest {
    let mut body = Vec::new();
    encode_protobuf(group, &context(), &mut body);
    ExportMetricsServiceRequest::decode(&body[..]).expect("our protobuf decodes")
}

fn points_mut(metric: &mut Metric) -> &mut Vec<NumberDataPoint> {
    match &mut metric.data {
        Some(Data::Gauge(gauge)) => &mut gauge.data_points,
        Some(Data::Sum(sum)) => &mut sum.data_points,
        other => panic!("{}: unexpected data {other:?}", metric.name),
    }
}

fn string_value(attribute: &KeyValue) -> &str {
    match attribute.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s,
        other => panic!("{}: not a string: {other:?}", attribute.key),
    }
}

/// Checks what is ours alone (the `telemetry.sdk.*` attributes, the scope's version, the
/// timestamps from the context or the group's marked fields, `times`: a start time on Sums
/// only), then removes it.
fn check_and_strip_our_additions(request: &mut ExportMetricsServiceRequest, times: PointTimes) {
    let time = times.time_unix_nano.unwrap_or(TIME);
    let sum_start = times.start_time_unix_nano.unwrap_or(START);
    assert_eq!(request.resource_metrics.len(), 1);
    let resource_metrics = &mut request.resource_metrics[0];
    let resource = resource_metrics.resource.as_mut().expect("resource");
    let sdk: Vec<(String, String)> = resource
        .attributes
        .iter()
        .filter(|a| a.key.starts_with("telemetry.sdk."))
        .map(|a| (a.key.clone(), string_value(a).to_owned()))
        .collect();
    let version = env!("CARGO_PKG_VERSION"); // the workspace's, which metrics-core shares
    assert_eq!(
        sdk,
        [
            ("telemetry.sdk.name".to_owned(), "metrics-core".to_owned()),
            ("telemetry.sdk.language".to_owned(), "rust".to_owned()),
            ("telemetry.sdk.version".to_owned(), version.to_owned()),
        ]
    );
    resource
        .attributes
        .retain(|a| !a.key.starts_with("telemetry.sdk."));
    for scope_metrics in &mut resource_metrics.scope_metrics {
        let scope = scope_metrics.scope.as_mut().expect("scope");
        assert_eq!(
            (scope.name.as_str(), scope.version.as_str()),
            ("metrics-core", version)
        );
        scope.version.clear();
        for metric in &mut scope_metrics.metrics {
            let is_sum = matches!(metric.data, Some(Data::Sum(_)));
            let name = metric.name.clone();
            for point in points_mut(metric) {
                let start = if is_sum { sum_start } else { 0 };
                assert_eq!(point.start_time_unix_nano, start, "{name}");
                assert_eq!(point.time_unix_nano, time, "{name}");
            }
        }
    }
}

/// Sorts what OTLP does not order and zeroes the timestamps.
fn normalise(request: &mut ExportMetricsServiceRequest) {
    for resource_metrics in &mut request.resource_metrics {
        if let Some(resource) = &mut resource_metrics.resource {
            resource.attributes.sort_by(|a, b| a.key.cmp(&b.key));
        }
        for scope_metrics in &mut resource_metrics.scope_metrics {
            scope_metrics.metrics.sort_by(|a, b| a.name.cmp(&b.name));
            for metric in &mut scope_metrics.metrics {
                let points = points_mut(metric);
                for point in points.iter_mut() {
                    point.start_time_unix_nano = 0;
                    point.time_unix_nano = 0;
                    point.attributes.sort_by(|a, b| a.key.cmp(&b.key));
                }
                points.sort_by_key(|p| format!("{:?}", p.attributes));
            }
        }
    }
}

fn point_count(request: &ExportMetricsServiceRequest) -> usize {
    let mut request = request.clone();
    let metrics = request
        .resource_metrics
        .iter_mut()
        .flat_map(|r| &mut r.scope_metrics)
        .flat_map(|s| &mut s.metrics);
    metrics
        .map(|m| match &m.data {
            Some(Data::Histogram(h)) => h.data_points.len(),
            Some(Data::ExponentialHistogram(h)) => h.data_points.len(),
            _ => points_mut(m).len(),
        })
        .sum()
}

/// Our protobuf against the SDK path's request for `group`, which must have `points` points.
fn assert_equivalent(name: &str, group: &dyn DynMetricsGroup, points: usize) {
    let mut ours = ours(group);
    let mut theirs = sdk_request(group);
    assert_eq!(
        point_count(&theirs),
        points,
        "{name}: the SDK path's points"
    );
    check_and_strip_our_additions(&mut ours, group.point_times());
    normalise(&mut ours);
    normalise(&mut theirs);
    if ours != theirs {
        // The whole messages are long: name the first metric that differs.
        let metrics = |r: &ExportMetricsServiceRequest| -> Vec<Metric> {
            r.resource_metrics
                .iter()
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| s.metrics.clone())
                .collect()
        };
        for (a, b) in metrics(&ours).iter().zip(metrics(&theirs).iter()) {
            assert_eq!(a, b, "{name}: first differing metric, ours then the SDK's");
        }
        assert_eq!(ours, theirs, "{name}: ours, then the SDK path's");
    }
}

/// One of each kind and value type at the values OTLP cannot carry as they are.
#[derive(MetricsGroup)]
struct Extremes {
    /// A "quoted" description with a \ backslash and ünïcödé.
    #[metric(counter, unit = "{request}")]
    counter_max: u64,
    #[metric(counter)]
    counter_above_i64: u64,
    #[metric(counter)]
    counter_infinite: f64,
    #[metric(up_down_counter)]
    up_down_min: i64,
    #[metric(up_down_counter)]
    up_down_negative_infinite: f64,
    gauge_nan: f64,
    gauge_negative_zero: f64,
    gauge_u64_max: u64,
    gauge_bool: bool,
    gauge_duration: Duration,
    gauge_absent: Option<f64>,
    /// Some entries NaN.
    #[metric(label = "key")]
    gauge_map_some_nan: HashMap<String, f64>,
    /// Every entry NaN: the metric is left out.
    #[metric(label = "key")]
    gauge_map_all_nan: BTreeMap<String, f64>,
    #[metric(counter, label = "key")]
    counter_map_empty: HashMap<String, u64>,
}

fn extremes() -> Extremes {
    Extremes {
        counter_max: u64::MAX,
        counter_above_i64: (1 << 63) + 1,
        counter_infinite: f64::INFINITY,
        up_down_min: i64::MIN,
        up_down_negative_infinite: f64::NEG_INFINITY,
        gauge_nan: f64::NAN,
        gauge_negative_zero: -0.0,
        gauge_u64_max: u64::MAX,
        gauge_bool: true,
        gauge_duration: Duration::from_millis(1500),
        gauge_absent: None,
        gauge_map_some_nan: HashMap::from([
            ("nan".to_owned(), f64::NAN),
            ("inf".to_owned(), f64::INFINITY),
            ("finite".to_owned(), 2.5),
            ("tiny".to_owned(), f64::MIN_POSITIVE),
            ("huge".to_owned(), f64::MAX),
        ]),
        gauge_map_all_nan: BTreeMap::from([("a".to_owned(), f64::NAN)]),
        counter_map_empty: HashMap::new(),
    }
}

/// Three maps of 1,000 entries, one per kind, with labels a careless service could produce.
#[derive(MetricsGroup)]
struct Maps {
    /// Requests per worker.
    #[metric(counter, unit = "{request}", label = "worker")]
    requests: HashMap<String, u64>,
    /// Load per worker.
    #[metric(unit = "1", label = "worker")]
    load: HashMap<String, f64>,
    /// Connections per peer.
    #[metric(up_down_counter, label = "peer")]
    connections: BTreeMap<String, i64>,
}

/// Labels with quotes, backslashes, control characters, non-ASCII, nothing at all, and
/// lengths around the varint boundaries.
fn hostile_labels() -> Vec<String> {
    vec![
        String::new(),
        "\"quoted\"".to_owned(),
        "back\\slash".to_owned(),
        "line\nbreak\ttab\u{0}nul\u{1f}".to_owned(),
        "日本語 ✓ \u{10ffff}".to_owned(),
        "</script>".to_owned(),
        "x".repeat(127),
        "y".repeat(128),
        "z".repeat(20_000),
    ]
}

fn maps(n: usize) -> Maps {
    let mut labels = hostile_labels();
    labels.extend((labels.len()..n).map(|i| format!("worker-{i:04}")));
    Maps {
        requests: labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), (i as u64) * 1_000_003))
            .collect(),
        load: labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), i as f64 / 7.0))
            .collect(),
        connections: labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), 500 - i as i64))
            .collect(),
    }
}

/// The HTTP method of `Dimensional`'s routes: a string attribute in snake_case.
#[derive(LabelValue, serde::Serialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Method {
    Get,
    #[label(rename = "POST")]
    Post,
}

/// A three-attribute key naming its own attribute keys.
#[derive(LabelSet, serde::Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct Request {
    #[label(rename = "http.route")]
    route: String,
    method: Method,
    status: u16,
}

/// Multi-attribute points: string, integer (negative too) and bool attribute values.
#[derive(MetricsGroup, serde::Serialize)]
struct Dimensional {
    /// Requests by route, method and status.
    #[metric(counter, unit = "{request}")]
    requests: LabelMap<Request, u64>,
    /// Latency by route, cached or not.
    #[metric(unit = "s", label = ("route", "cached"))]
    latency: LabelMap<(String, bool), f64>,
    /// Offsets by partition.
    #[metric(up_down_counter, label = "partition")]
    offsets: BTreeMap<i64, i64>,
    /// Up, by replica flag.
    #[metric(label = "primary")]
    up: HashMap<bool, u8>,
}

fn dimensional(n: usize) -> Dimensional {
    let labels = hostile_labels();
    let route = |i: usize| labels.get(i).cloned().unwrap_or_else(|| format!("/r/{i}"));
    Dimensional {
        requests: (0..n)
            .map(|i| {
                let key = Request {
                    route: route(i),
                    method: if i % 2 == 0 {
                        Method::Get
                    } else {
                        Method::Post
                    },
                    status: 200 + (i % 7) as u16 * 50,
                };
                (key, i as u64 * 3)
            })
            .collect(),
        latency: (0..n)
            .map(|i| ((route(i), i % 3 == 0), i as f64 / 11.0))
            .collect(),
        offsets: (0..n as i64).map(|i| (i - 300, i * 1000 - 7)).collect(),
        up: HashMap::from([(true, 1), (false, 0)]),
    }
}

/// Histograms of both kinds, labeled and not, with negative values and empty ones: the SDK
/// path cannot send them (no pre-aggregated histograms), so they are checked by the strict
/// JSON parser against our protobuf, and in `histograms.rs` against literals.
#[derive(MetricsGroup)]
struct Distributions {
    /// Latency.
    #[metric(unit = "s", buckets = [-1, 0, 0.5, 1e300])]
    latency: Histogram,
    /// Latency by route.
    #[metric(unit = "s", label = ("route", "cached"))]
    by_route: LabelMap<(String, bool), Histogram>,
    /// Wait.
    wait: ExponentialHistogram,
    /// Never recorded.
    idle: ExponentialHistogram,
}

fn distributions() -> Distributions {
    let latency = Histogram::with_bounds(Distributions::LATENCY_BUCKETS).unwrap();
    let wait = ExponentialHistogram::new();
    for i in 0..1000 {
        let value = f64::from(i) * 0.37 - 100.0;
        latency.record(value);
        wait.record(value * 1e3);
    }
    let by_route = hostile_labels()
        .into_iter()
        .enumerate()
        .map(|(i, route)| {
            let histogram = Histogram::new();
            histogram.record(i as f64);
            ((route, i % 2 == 0), histogram)
        })
        .collect();
    Distributions {
        latency,
        by_route,
        wait,
        idle: ExponentialHistogram::new(),
    }
}

#[test]
fn protobuf_equals_the_sdk_path_for_multi_attribute_points() {
    assert_equivalent("dimensional", &dimensional(500), 1502);
}

#[test]
fn protobuf_equals_the_sdk_path_for_the_example_snapshot() {
    assert_equivalent("example snapshot", &support::example_snapshot(), 25);
    let absent = support::snapshot::MetricsSnapshot {
        compaction: None,
        ..support::example_snapshot()
    };
    assert_equivalent("example snapshot, compaction absent", &absent, 19);
}

#[test]
fn protobuf_equals_the_sdk_path_for_the_wide_struct() {
    // 200 fields: 160 always present, 20 of the 40 optional ones `Some`.
    assert_equivalent("wide, 200 fields", &wide::Wide::sample(7), 180);
}

#[test]
fn protobuf_equals_the_sdk_path_for_maps_of_1000_entries() {
    assert_equivalent("maps of 1,000 entries", &maps(1000), 3000);
}

#[test]
fn protobuf_equals_the_sdk_path_for_extreme_values() {
    // 7 single points and 3 map entries. Left out: the infinite counter and up-down
    // counter, the NaN gauge, the absent gauge, the all-NaN map, the empty map, and 2
    // entries of the partly NaN map.
    assert_equivalent("extremes", &extremes(), 10);
}

/// What the extremes become, from literals: the cases where the SDK path is not the only
/// reference worth having.
#[test]
fn extreme_values_are_saturated_or_left_out() {
    let request = ours(&extremes());
    let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "counter_max",
            "counter_above_i64",
            "up_down_min",
            "gauge_negative_zero",
            "gauge_u64_max",
            "gauge_bool",
            "gauge_duration",
            "gauge_map_some_nan",
        ]
    );
    assert_eq!(
        metrics[0].description,
        "A \"quoted\" description with a \\ backslash and ünïcödé."
    );
    assert_eq!(metrics[0].unit, "{request}");
    let value = |i: usize| {
        let mut metric = metrics[i].clone();
        let points = points_mut(&mut metric).clone();
        points
            .into_iter()
            .map(|p| p.value.unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(value(0), [Value::AsInt(i64::MAX)]);
    assert_eq!(value(1), [Value::AsInt(i64::MAX)]);
    assert_eq!(value(2), [Value::AsInt(i64::MIN)]);
    let [Value::AsDouble(zero)] = value(3)[..] else {
        panic!("{:?}", value(3))
    };
    assert!(zero == 0.0 && zero.is_sign_negative());
    assert_eq!(value(4), [Value::AsInt(i64::MAX)]);
    assert_eq!(value(5), [Value::AsInt(1)]);
    assert_eq!(value(6), [Value::AsDouble(1.5)]);
    let mut map = value(7);
    map.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    assert_eq!(
        map,
        [
            Value::AsDouble(f64::MAX),
            Value::AsDouble(f64::MIN_POSITIVE),
            Value::AsDouble(2.5)
        ]
    );
    let Some(Data::Sum(sum)) = &metrics[0].data else {
        panic!("a counter is a Sum")
    };
    assert!(sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, 2); // cumulative
    let Some(Data::Sum(sum)) = &metrics[2].data else {
        panic!("an up-down counter is a Sum")
    };
    assert!(!sum.is_monotonic);
    assert_eq!(sum.aggregation_temporality, 2);
    assert!(matches!(metrics[3].data, Some(Data::Gauge(_))));
}

#[test]
fn absent_groups_produce_no_metrics() {
    #[derive(MetricsGroup)]
    struct Inner {
        a: u64,
        #[metric(counter, label = "k")]
        b: HashMap<String, u64>,
    }
    #[derive(MetricsGroup)]
    struct Outer {
        first: Option<Inner>,
        present: Option<u64>,
        second: Option<Inner>,
        #[metric(flatten)]
        third: Option<Inner>,
    }
    let outer = Outer {
        first: None,
        present: Some(4),
        second: Some(Inner {
            a: 1,
            b: HashMap::from([("x".to_owned(), 2)]),
        }),
        third: None,
    };
    let request = ours(&outer);
    let names: Vec<&str> = request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(names, ["present", "second.a", "second.b"]);
    assert_equivalent("some groups absent", &outer, 3);

    let none = Outer {
        first: None,
        present: None,
        second: None,
        third: None,
    };
    let request = ours(&none);
    assert!(request.resource_metrics[0].scope_metrics[0]
        .metrics
        .is_empty());
}

/// `json_format.Parse` of each document (one a line on stdin) in the receiver's venv,
/// re-serialized as protobuf: hex, or `ERROR` and the parser's message.
const PYTHON_PARSE: &str = r#"
import sys
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
for line in sys.stdin:
    try:
        message = json_format.Parse(line, ExportMetricsServiceRequest())
        print(message.SerializeToString().hex())
    except Exception as e:
        print("ERROR " + str(e).replace("\n", " "))
"#;

/// Each JSON document as Google's protobuf runtime parses it, strictly, then as prost
/// decodes what it re-serializes.
fn python_parse(documents: &[Vec<u8>]) -> Vec<Result<ExportMetricsServiceRequest, String>> {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/target/otlp-venv/bin/python");
    assert!(
        std::path::Path::new(python).exists(),
        "{python} is missing: run ./scripts/test.sh, which sets up the OTLP receiver's venv"
    );
    let mut child = Command::new(python)
        .args(["-c", PYTHON_PARSE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start python");
    let mut stdin = child.stdin.take().unwrap();
    let input: Vec<u8> = documents.join(&b'\n');
    let writer = std::thread::spawn(move || {
        stdin.write_all(&input).unwrap();
        stdin.write_all(b"\n").unwrap();
    });
    let output = child.wait_with_output().expect("python runs");
    writer.join().unwrap();
    assert!(output.status.success(), "python failed");
    let lines: Vec<Result<_, _>> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| match line.strip_prefix("ERROR ") {
            Some(error) => Err(error.to_owned()),
            None => {
                let bytes: Vec<u8> = (0..line.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap())
                    .collect();
                Ok(ExportMetricsServiceRequest::decode(&bytes[..]).unwrap())
            }
        })
        .collect();
    assert_eq!(lines.len(), documents.len());
    lines
}

#[test]
fn json_parses_strictly_into_the_same_message_as_the_protobuf() {
    let example = support::example_snapshot();
    let wide = wide::Wide::sample(3);
    let maps = maps(1000);
    let extremes = extremes();
    let dimensional = dimensional(300);
    let distributions = distributions();
    let groups: [(&str, &dyn DynMetricsGroup); 6] = [
        ("histograms", &distributions),
        ("example snapshot", &example),
        ("wide", &wide),
        ("maps of 1,000 entries", &maps),
        ("extremes", &extremes),
        ("multi-attribute points", &dimensional),
    ];
    // Also a context at the ends of time and with no attributes of the caller's.
    let mut epoch = OtlpContext::new(
        std::iter::empty::<(String, String)>(),
        SystemTime::UNIX_EPOCH,
    );
    epoch.set_time_unix_nano(u64::MAX);
    let mut documents = Vec::new();
    let mut expected = Vec::new();
    for context in [context(), epoch] {
        for (name, group) in groups {
            let mut json = Vec::new();
            encode_json(group, &context, &mut json);
            assert!(!json.contains(&b'\n'), "{name}: one line");
            documents.push(json);
            let mut protobuf = Vec::new();
            encode_protobuf(group, &context, &mut protobuf);
            expected.push((
                name,
                ExportMetricsServiceRequest::decode(&protobuf[..]).unwrap(),
            ));
        }
    }
    let parsed = python_parse(&documents);
    for ((name, expected), parsed) in expected.into_iter().zip(parsed) {
        let parsed = parsed.unwrap_or_else(|e| panic!("{name}: json_format.Parse: {e}"));
        assert!(point_count(&parsed) > 0, "{name}");
        assert_eq!(
            parsed, expected,
            "{name}: JSON as parsed, then our protobuf"
        );
    }
}

/// The parser is strict: a document with a misspelled key or a 64-bit integer out of range
/// is refused, so the test above would see such a mistake of ours.
#[test]
fn the_json_parser_refuses_what_the_spec_does_not_allow() {
    let mut json = Vec::new();
    encode_json(&support::example_snapshot(), &context(), &mut json);
    let text = String::from_utf8(json).unwrap();
    let misspelled = text.replacen("\"timeUnixNano\"", "\"time_unix_nanos\"", 1);
    let out_of_range = text.replacen("\"asInt\":\"", "\"asInt\":\"99999999999999999999", 1);
    let parsed = python_parse(&[misspelled.into_bytes(), out_of_range.into_bytes()]);
    assert!(parsed.iter().all(Result::is_err), "{parsed:?}");
}

#[test]
fn appends_to_what_the_buffer_holds() {
    let snapshot = support::example_snapshot();
    let mut alone = Vec::new();
    encode_protobuf(&snapshot, &context(), &mut alone);
    let mut after = b"prefix".to_vec();
    encode_protobuf(&snapshot, &context(), &mut after);
    assert_eq!(&after[..6], b"prefix");
    assert_eq!(after[6..], alone[..]);
}

/// Threads encoding a group type none has encoded before, at once, all prepare or find the
/// same static parts: every request is the one a lone thread writes.
#[test]
fn concurrent_first_encodes_agree() {
    #[derive(MetricsGroup)]
    struct Fresh {
        /// Seen by many threads at once.
        #[metric(counter, label = "thread")]
        by_thread: BTreeMap<String, u64>,
        level: f64,
    }
    let fresh = Fresh {
        by_thread: (0..50).map(|i| (format!("t{i}"), i)).collect(),
        level: 0.5,
    };
    let barrier = std::sync::Barrier::new(8);
    let bodies: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    let mut body = Vec::new();
                    encode_protobuf(&fresh, &context(), &mut body);
                    body
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let request = ExportMetricsServiceRequest::decode(&bodies[0][..]).unwrap();
    assert_eq!(point_count(&request), 51);
    assert!(bodies.iter().all(|body| *body == bodies[0]));
}

/// Lengths are reserved as large as the last encode of the type needed: a map whose
/// lengths take 1 to 4 bytes, shrinking and growing between encodes, is encoded the same
/// as by the first encode of its size, and decodes to its points.
#[test]
fn maps_that_shrink_and_grow_between_encodes() {
    #[derive(MetricsGroup)]
    struct Sized {
        #[metric(counter, label = "k")]
        entries: BTreeMap<String, u64>,
    }
    let encode = |n: u64| {
        let mut body = Vec::new();
        let group = Sized {
            entries: (0..n).map(|i| (format!("k{i}"), i)).collect(),
        };
        encode_protobuf(&group, &context(), &mut body);
        let request = ExportMetricsServiceRequest::decode(&body[..]).expect("decodes");
        assert_eq!(point_count(&request) as u64, n, "size {n}");
        body
    };
    let sizes = [1000, 1, 100_000, 10, 0, 3];
    let first: Vec<Vec<u8>> = sizes.iter().map(|&n| encode(n)).collect();
    for n in [1, 100_000, 0, 1000, 10, 100_000, 3, 1] {
        let same = sizes.iter().position(|&m| m == n).unwrap();
        assert!(
            encode(n) == first[same],
            "size {n} differs from its first encode"
        );
    }
}

/// The caller's attributes come first and win: a key given twice keeps its last value at its
/// first place, and a `telemetry.sdk.*` key the caller gives replaces ours.
#[test]
fn resource_attributes_of_the_caller_win() {
    let context = OtlpContext::new(
        [
            ("k", "1"),
            ("telemetry.sdk.name", "my-sdk"),
            ("other", ""),
            ("k", "2"),
        ],
        UNIX_EPOCH,
    );
    let mut body = Vec::new();
    encode_protobuf(&support::example_snapshot(), &context, &mut body);
    let request = ExportMetricsServiceRequest::decode(&body[..]).unwrap();
    let resource = request.resource_metrics[0].resource.as_ref().unwrap();
    let attributes: Vec<(&str, &str)> = resource
        .attributes
        .iter()
        .map(|a| (a.key.as_str(), string_value(a)))
        .collect();
    assert_eq!(
        attributes,
        [
            ("k", "2"),
            ("telemetry.sdk.name", "my-sdk"),
            ("other", ""),
            ("telemetry.sdk.language", "rust"),
            ("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
        ]
    );
}
