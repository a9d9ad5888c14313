//! Live labeled families: exact totals under concurrent creation and updates, the cap and
//! its overflow series, no allocation once a series exists, JSON against serde_json, every
//! attribute through OTLP (decoded with opentelemetry-proto) and Prometheus, and a family
//! reported live while threads update it.

#[path = "support/counting_allocator.rs"]
mod counting_allocator;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, UNIX_EPOCH};

use counting_allocator::allocations;
use metrics_core::export::async_trait;
use metrics_core::family::OVERFLOW_ATTRIBUTE;
use metrics_core::otlp::{encode_json, encode_protobuf, OtlpContext};
use metrics_core::{
    json, prometheus, Counter, DynMetricsGroup, Family, LabelSet, LabelValue, MetricsError,
    MetricsExporter, MetricsGroup, Reporter,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value;
use prost::Message;
use serde::{Deserialize, Serialize};

#[derive(
    LabelValue, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
)]
enum Outcome {
    Done,
    Failed,
}

#[derive(LabelSet, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Task {
    queue: String,
    priority: i32,
    outcome: Outcome,
}

#[derive(MetricsGroup, Serialize, Deserialize, Debug, Default)]
struct Live {
    /// Tasks finished, by queue, priority and outcome.
    #[metric(counter)]
    tasks: Family<Task, Counter>,
    /// Bytes by route and method.
    #[metric(counter, unit = "By", label = ("route", "method"))]
    bytes: Family<(String, String), AtomicU64>,
    /// Tasks in flight by queue.
    #[metric(label = "queue")]
    in_flight: Family<String, AtomicI64>,
}

fn task(n: usize) -> Task {
    Task {
        queue: format!("queue-{}", n % 7),
        priority: (n % 3) as i32 - 1,
        outcome: if n % 2 == 0 {
            Outcome::Done
        } else {
            Outcome::Failed
        },
    }
}

const THREADS: usize = 4;

#[test]
fn threads_updating_overlapping_keys_give_exact_totals() {
    let family: Family<Task, Counter> = Family::new();
    const KEYS: usize = 42; // every (queue, priority, outcome) combination `task` makes
    const ROUNDS: usize = 5_000;
    let keys: Vec<Task> = (0..KEYS).map(task).collect();
    thread::scope(|scope| {
        for t in 0..THREADS {
            let (family, keys) = (&family, &keys);
            scope.spawn(move || {
                // Each thread starts elsewhere, so that keys are created by different threads.
                for round in 0..ROUNDS {
                    family.get_or_create(&keys[(round + t * 11) % KEYS]).inc();
                }
            });
        }
    });
    assert_eq!(family.len(), KEYS);
    let total: u64 = family.iter().map(|(_, c)| c.get()).sum();
    assert_eq!(total, (THREADS * ROUNDS) as u64);
    for (i, key) in keys.iter().enumerate() {
        let expected: usize = (0..THREADS)
            .map(|t| (0..ROUNDS).filter(|r| (r + t * 11) % KEYS == i).count())
            .sum();
        assert_eq!(
            family.get(key).map(Counter::get),
            Some(expected as u64),
            "{key:?}"
        );
    }
    assert_eq!(family.overflowed(), 0);
}

#[test]
fn beyond_the_cap_updates_go_to_the_overflow_series_and_are_counted() {
    const CAP: usize = 10;
    const KEYS: usize = 100;
    const ROUNDS: usize = 2_000;
    let family: Family<String, Counter> = Family::with_max_series(CAP);
    assert_eq!(family.series_cap(), Some(CAP));
    let keys: Vec<String> = (0..KEYS).map(|k| format!("user-{k}")).collect();
    thread::scope(|scope| {
        for t in 0..THREADS {
            let (family, keys) = (&family, &keys);
            scope.spawn(move || {
                for round in 0..ROUNDS {
                    family
                        .get_or_create(keys[(round * 7 + t) % KEYS].as_str())
                        .add(2);
                }
            });
        }
    });
    assert_eq!(family.len(), CAP, "exactly the cap");
    let in_series: u64 = family.iter().map(|(_, c)| c.get()).sum();
    let overflowed = family.overflowed();
    // Every update landed once: in its series or, counted, in the overflow series.
    assert_eq!(
        in_series + family.overflow().get(),
        (THREADS * ROUNDS * 2) as u64
    );
    assert_eq!(family.overflow().get(), overflowed * 2);
    assert!(overflowed > 0);
    // A key with a series keeps it after the family is full; a new one does not get one.
    let (first, before) = family
        .iter()
        .next()
        .map(|(k, c)| (k.clone(), c.get()))
        .unwrap();
    family.get_or_create(&first).inc();
    assert_eq!(family.get(&first).map(Counter::get), Some(before + 1));
    let outside = keys
        .iter()
        .find(|k| family.get(k.as_str()).is_none())
        .unwrap();
    family.get_or_create(outside.as_str()).inc();
    assert_eq!(family.overflowed(), overflowed + 1);
    assert_eq!(family.len(), CAP);
}

#[test]
fn a_cap_of_zero_sends_everything_to_the_overflow_series() {
    let family: Family<i32, AtomicU64> = Family::with_max_series(0);
    for k in 0..5 {
        family.get_or_create(&k).fetch_add(1, Ordering::Relaxed);
    }
    assert!(family.is_empty());
    assert_eq!(family.overflow().load(Ordering::Relaxed), 5);
    assert_eq!(family.overflowed(), 5);
}

#[test]
fn updating_an_existing_series_allocates_nothing() {
    let family: Family<Task, Counter> = Family::new();
    let capped: Family<Task, Counter> = Family::with_max_series(1);
    let keys: Vec<Task> = (0..12).map(task).collect();
    for key in &keys {
        family.get_or_create(key).inc();
        capped.get_or_create(key).inc(); // the first creates, the others overflow
    }
    let strings: Family<String, AtomicU64> = Family::new();
    strings.get_or_create("GET").fetch_add(1, Ordering::Relaxed);
    let count = allocations(|| {
        for round in 0..10_000 {
            let key = &keys[round % keys.len()];
            family.get_or_create(key).inc();
            capped.get_or_create(key).inc(); // an existing series or the overflow series
            strings.get_or_create("GET").fetch_add(1, Ordering::Relaxed);
        }
    });
    assert_eq!(count, 0, "{count} allocations in 30,000 updates");
    assert_eq!(family.iter().map(|(_, c)| c.get()).sum::<u64>(), 10_012);
}

/// A family of each kind of key, some series in each, one family past its cap.
fn live() -> Live {
    let live = Live {
        tasks: Family::with_max_series(3),
        ..Live::default()
    };
    for n in 0..6 {
        live.tasks.get_or_create(&task(n)).add(n as u64 + 1);
    }
    live.bytes
        .get_or_create(&("/users".to_owned(), "GET".to_owned()))
        .fetch_add(512, Ordering::Relaxed);
    live.bytes
        .get_or_create(&("/a \"quoted\"\nroute".to_owned(), "POST".to_owned()))
        .fetch_add(7, Ordering::Relaxed);
    live.in_flight
        .get_or_create("high")
        .fetch_sub(3, Ordering::Relaxed);
    live
}

#[test]
fn json_is_serde_jsons_and_reads_back() {
    let live = live();
    for pretty in [false, true] {
        let ours = if pretty {
            json::to_string_pretty(&live).unwrap()
        } else {
            json::to_string(&live).unwrap()
        };
        let theirs = if pretty {
            serde_json::to_string_pretty(&live).unwrap()
        } else {
            serde_json::to_string(&live).unwrap()
        };
        assert_eq!(ours, theirs, "pretty: {pretty}");
    }
    let text = json::to_string(&live).unwrap();
    assert!(
        text.starts_with(concat!(
            r#"{"tasks":{"series":[[{"queue":"queue-0","priority":-1,"outcome":"Done"},1],"#,
            r#"[{"queue":"queue-1","priority":0,"outcome":"Failed"},2],"#,
            r#"[{"queue":"queue-2","priority":1,"outcome":"Done"},3]],"overflow":15,"overflowed":3},"#,
            r#""bytes":{"series":[[["/users","GET"],512],"#
        )),
        "{text}"
    );
    let back: Live = serde_json::from_str(&text).unwrap();
    assert_eq!(json::to_string(&back).unwrap(), text);
    assert_eq!(
        back.tasks.series_cap(),
        None,
        "the cap is configuration, not data"
    );
    // A repeated key keeps its first series; a missing member is an error naming it.
    let repeated: Family<String, u64> =
        serde_json::from_str(r#"{"series":[["a",1],["a",2]],"overflow":0,"overflowed":0}"#)
            .unwrap();
    assert_eq!(repeated.get("a"), Some(&1));
    let error =
        serde_json::from_str::<Family<String, u64>>(r#"{"series":[],"overflow":0}"#).unwrap_err();
    assert!(
        error.to_string().contains("missing field `overflowed`"),
        "{error}"
    );
}

fn context() -> OtlpContext {
    let mut context = OtlpContext::new([("service.name", "family-test")], UNIX_EPOCH);
    context.set_time_unix_nano(1_700_000_000_000_000_000);
    context
}

/// Each point of metric `name` as (attributes, value), attributes as `key=value` text.
fn otlp_points(request: &ExportMetricsServiceRequest, name: &str) -> BTreeMap<String, i64> {
    let metric = request.resource_metrics[0].scope_metrics[0]
        .metrics
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no metric {name}"));
    let Some(Data::Sum(sum)) = &metric.data else {
        panic!("{name} is not a Sum: {:?}", metric.data)
    };
    sum.data_points
        .iter()
        .map(|point| {
            let attributes: Vec<String> = point
                .attributes
                .iter()
                .map(|kv| {
                    let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                        Some(AnyValue::StringValue(s)) => format!("{s:?}"),
                        Some(AnyValue::IntValue(i)) => i.to_string(),
                        Some(AnyValue::BoolValue(b)) => b.to_string(),
                        other => panic!("unexpected attribute value {other:?}"),
                    };
                    format!("{}={value}", kv.key)
                })
                .collect();
            let Some(Value::AsInt(value)) = point.value else {
                panic!("{:?}", point.value)
            };
            (attributes.join(","), value)
        })
        .collect()
}

#[test]
fn otlp_points_carry_every_attribute_and_the_overflow_attribute() {
    let live = live();
    let mut body = Vec::new();
    encode_protobuf(&live, &context(), &mut body);
    let request = ExportMetricsServiceRequest::decode(&body[..]).unwrap();
    let overflow = format!("{OVERFLOW_ATTRIBUTE}=true");
    let expected_tasks = BTreeMap::from([
        (
            r#"queue="queue-0",priority=-1,outcome="done""#.to_owned(),
            1,
        ),
        (
            r#"queue="queue-1",priority=0,outcome="failed""#.to_owned(),
            2,
        ),
        (r#"queue="queue-2",priority=1,outcome="done""#.to_owned(), 3),
        (overflow, 4 + 5 + 6),
    ]);
    assert_eq!(otlp_points(&request, "tasks"), expected_tasks);
    let expected_bytes = BTreeMap::from([
        (r#"route="/users",method="GET""#.to_owned(), 512),
        (
            r#"route="/a \"quoted\"\nroute",method="POST""#.to_owned(),
            7,
        ),
    ]);
    assert_eq!(otlp_points(&request, "bytes"), expected_bytes);

    // OTLP/JSON: the same attributes, the overflow one a boolValue.
    let mut body = Vec::new();
    encode_json(&live, &context(), &mut body);
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let metrics = &request["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
    let tasks = metrics
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "tasks")
        .unwrap();
    let points = tasks["sum"]["dataPoints"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    assert_eq!(
        points[0]["attributes"],
        serde_json::json!([
            {"key": "queue", "value": {"stringValue": "queue-0"}},
            {"key": "priority", "value": {"intValue": "-1"}},
            {"key": "outcome", "value": {"stringValue": "done"}},
        ])
    );
    assert_eq!(
        points[3]["attributes"],
        serde_json::json!([{"key": OVERFLOW_ATTRIBUTE, "value": {"boolValue": true}}])
    );
    assert_eq!(points[3]["asInt"], "15");
}

#[test]
fn prometheus_samples_carry_every_label_and_the_overflow_label() {
    let mut out = Vec::new();
    prometheus::to_writer(&live(), &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    for line in [
        r#"tasks_total{queue="queue-0",priority="-1",outcome="done"} 1"#,
        r#"tasks_total{queue="queue-2",priority="1",outcome="done"} 3"#,
        r#"tasks_total{otel_metric_overflow="true"} 15"#,
        r#"bytes_bytes_total{route="/a \"quoted\"\nroute",method="POST"} 7"#,
        r#"in_flight{queue="high"} -3"#,
    ] {
        assert!(text.lines().any(|l| l == line), "no line {line} in\n{text}");
    }
    // No overflow sample before anything overflowed.
    let quiet = Live::default();
    quiet.tasks.get_or_create(&task(0)).inc();
    let mut out = Vec::new();
    prometheus::to_writer(&quiet, &mut out).unwrap();
    assert!(!String::from_utf8(out).unwrap().contains("overflow"));
}

/// Records the JSON of every export.
#[derive(Debug, Default)]
struct Recording {
    exports: Mutex<Vec<String>>,
}

#[async_trait]
impl MetricsExporter for Recording {
    fn name(&self) -> &str {
        "recording"
    }

    async fn export(&self, group: &dyn DynMetricsGroup) -> Result<(), MetricsError> {
        let mut json = Vec::new();
        group.write_json_to(&mut json, false)?;
        // The OTLP and Prometheus encoders read the same live values alongside.
        let mut otlp = Vec::new();
        encode_protobuf(group, &context(), &mut otlp);
        ExportMetricsServiceRequest::decode(&otlp[..]).expect("a live export decodes");
        prometheus::to_writer(group, &mut Vec::new()).expect("a live export encodes");
        self.exports
            .lock()
            .unwrap()
            .push(String::from_utf8(json).unwrap());
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), MetricsError> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_family_reported_live_is_exact_while_threads_update_it() {
    let live = Arc::new(Live {
        tasks: Family::with_max_series(20),
        ..Live::default()
    });
    let recording = Arc::new(Recording::default());
    let reporter =
        Reporter::builder(recording.clone(), Duration::from_millis(2)).start_live(live.clone());
    const ROUNDS: usize = 20_000;
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let live = Arc::clone(&live);
            thread::spawn(move || {
                for round in 0..ROUNDS {
                    live.tasks.get_or_create(&task(round * 3 + t)).inc();
                    if round % 100 == 0 {
                        // Let exports interleave with the updates.
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    reporter.shutdown(Duration::from_secs(10)).await.unwrap();

    let exports = recording.exports.lock().unwrap();
    assert!(exports.len() >= 2, "{} exports", exports.len());
    let totals: Vec<u64> = exports
        .iter()
        .map(|text| {
            let back: Live = serde_json::from_str(text).unwrap();
            back.tasks.iter().map(|(_, c)| c.get()).sum::<u64>() + back.tasks.overflow().get()
        })
        .collect();
    // Cumulative: never down between exports, and exact at the final one.
    assert!(totals.windows(2).all(|w| w[0] <= w[1]), "{totals:?}");
    assert_eq!(*totals.last().unwrap(), (THREADS * ROUNDS) as u64);
    assert_eq!(live.tasks.len(), 20);
}

#[derive(MetricsGroup, Serialize)]
struct Latencies {
    /// Request latency by route.
    #[metric(unit = "s", label = "route")]
    latency: Family<&'static str, metrics_core::Histogram>,
}

#[test]
fn a_family_of_histograms_exports_buckets_per_series_and_for_the_overflow() {
    let live = Latencies {
        latency: Family::with_max_series(1),
    };
    live.latency.get_or_create(&"/users").record(0.02);
    live.latency.get_or_create(&"/users").record(0.3);
    live.latency.get_or_create(&"/orders").record(7.0); // beyond the cap
    assert_eq!(live.latency.overflowed(), 1);

    let mut out = Vec::new();
    prometheus::to_writer(&live, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    for line in [
        r#"latency_seconds_count{route="/users"} 2"#,
        r#"latency_seconds_bucket{route="/users",le="+Inf"} 2"#,
        r#"latency_seconds_count{otel_metric_overflow="true"} 1"#,
        r#"latency_seconds_bucket{otel_metric_overflow="true",le="+Inf"} 1"#,
        r#"latency_seconds_sum{otel_metric_overflow="true"} 7.0"#,
    ] {
        assert!(text.lines().any(|l| l == line), "no line {line} in\n{text}");
    }

    let mut body = Vec::new();
    encode_protobuf(&live, &context(), &mut body);
    let request = ExportMetricsServiceRequest::decode(&body[..]).unwrap();
    let metric = &request.resource_metrics[0].scope_metrics[0].metrics[0];
    let Some(Data::Histogram(histogram)) = &metric.data else {
        panic!("{:?}", metric.data)
    };
    let points: Vec<(String, u64)> = histogram
        .data_points
        .iter()
        .map(|p| {
            let [kv] = &p.attributes[..] else {
                panic!("{:?}", p.attributes)
            };
            let value = kv.value.as_ref().and_then(|v| v.value.clone());
            (format!("{}={value:?}", kv.key), p.count)
        })
        .collect();
    assert_eq!(
        points,
        [
            (r#"route=Some(StringValue("/users"))"#.to_owned(), 2),
            (format!("{OVERFLOW_ATTRIBUTE}=Some(BoolValue(true))"), 1),
        ]
    );
    assert_eq!(
        json::to_string(&live).unwrap(),
        serde_json::to_string(&live).unwrap()
    );
}
