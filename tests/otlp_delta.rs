//! Delta temporality (`otlp.temporality: "delta"`) decoded by the receiver
//! (tests/otlp_receiver) over each protocol: counters send per-series changes since the
//! previous export, starting at its time; a counter that goes down is a reset (the new value);
//! a vanished series is dropped and comes back as new; up-down counters stay cumulative and
//! gauges unchanged; an export that was not delivered is not a baseline. Histograms send
//! per-bucket changes (an exponential one's merged to the current scale when it downscaled),
//! without min and max unless whole (new or reset). `lowmemory` keeps a group's (asynchronous)
//! counters cumulative and makes its (synchronous) histograms delta, as the specification says.

mod support;

use std::collections::BTreeMap;

use metrics_core::config::{OtlpConfig, OtlpProtocol, Temporality};
use metrics_core::export::OtlpExporter;
use metrics_core::{ExponentialHistogram, Histogram, MetricsConfig, MetricsExporter, MetricsGroup};
use serde_json::{json, Value};
use support::receiver::{metrics_by_name, Receiver};

const PROTOCOLS: [OtlpProtocol; 3] = [
    OtlpProtocol::Grpc,
    OtlpProtocol::HttpBinary,
    OtlpProtocol::HttpJson,
];

#[derive(MetricsGroup)]
struct Work {
    /// Jobs done, by queue.
    #[metric(counter, label = "queue")]
    done: BTreeMap<String, u64>,
    /// Seconds busy.
    #[metric(counter)]
    busy: f64,
    /// Jobs in flight.
    #[metric(up_down_counter)]
    in_flight: i64,
    /// Workers.
    workers: u32,
}

fn work(done: &[(&str, u64)], busy: f64, in_flight: i64) -> Work {
    Work {
        done: done.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        busy,
        in_flight,
        workers: 4,
    }
}

fn exporter(receiver: &Receiver, protocol: OtlpProtocol, temporality: Temporality) -> OtlpExporter {
    let otlp = OtlpConfig {
        protocol,
        temporality,
        ..OtlpConfig::new(receiver.url(protocol))
    };
    OtlpExporter::new(&MetricsConfig::default(), &otlp).unwrap()
}

fn nanos(value: &Value) -> u64 {
    value.as_str().unwrap().parse().unwrap()
}

/// A Sum's temporality (1 delta, 2 cumulative), as the receiver decodes it.
fn temporality(metric: &Value) -> u64 {
    match metric["sum"]["aggregation_temporality"].as_str().unwrap() {
        "AGGREGATION_TEMPORALITY_DELTA" => 1,
        "AGGREGATION_TEMPORALITY_CUMULATIVE" => 2,
        other => panic!("{other}"),
    }
}

/// `done`'s points: label value -> (start, time, value).
fn done_points(metric: &Value) -> BTreeMap<String, (u64, u64, i64)> {
    metric["sum"]["data_points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let label = p["attributes"][0]["value"]["string_value"]
                .as_str()
                .unwrap();
            let value = p["as_int"].as_str().unwrap().parse().unwrap();
            (
                label.to_owned(),
                (
                    nanos(&p["start_time_unix_nano"]),
                    nanos(&p["time_unix_nano"]),
                    value,
                ),
            )
        })
        .collect()
}

fn point(metric: &Value, kind: &str) -> Value {
    metric[kind]["data_points"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_send_changes_with_resets_and_vanished_series() {
    let receiver = Receiver::start();
    for protocol in PROTOCOLS {
        receiver.reset();
        let exporter = exporter(&receiver, protocol, Temporality::Delta);
        let snapshots = [
            work(&[("a", 5), ("b", 3)], 1.5, 10),
            work(&[("a", 8), ("b", 3), ("c", 1)], 2.0, 12),
            // `a` reset, `b` vanished.
            work(&[("a", 2), ("c", 4)], 0.5, 9),
            // `b` back: a new series.
            work(&[("a", 4), ("b", 7), ("c", 4)], 0.75, 9),
        ];
        for snapshot in &snapshots {
            exporter.export(snapshot).await.unwrap();
        }
        let received = receiver.wait_for(4, std::time::Duration::from_secs(10));
        let metrics: Vec<_> = received.iter().map(metrics_by_name).collect();
        let times: Vec<u64> = metrics
            .iter()
            .map(|m| nanos(&point(&m["workers"], "gauge")["time_unix_nano"]))
            .collect();
        let created = nanos(&point(&metrics[0]["in_flight"], "sum")["start_time_unix_nano"]);
        assert!(created < times[0]);

        let want: [&[(&str, i64)]; 4] = [
            &[("a", 5), ("b", 3)],
            &[("a", 3), ("b", 0), ("c", 1)],
            &[("a", 2), ("c", 3)],
            &[("a", 2), ("b", 7), ("c", 0)],
        ];
        let busy = [1.5, 0.5, 0.5, 0.25];
        for (i, m) in metrics.iter().enumerate() {
            let case = format!("{protocol} export {i}");
            let start = if i == 0 { created } else { times[i - 1] };
            assert_eq!(temporality(&m["done"]), 1, "{case}");
            assert_eq!(m["done"]["sum"]["is_monotonic"], true, "{case}");
            let expected: BTreeMap<String, (u64, u64, i64)> = want[i]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (start, times[i], *v)))
                .collect();
            assert_eq!(done_points(&m["done"]), expected, "{case}");

            assert_eq!(temporality(&m["busy"]), 1, "{case}");
            let busy_point = point(&m["busy"], "sum");
            assert_eq!(busy_point["as_double"], json!(busy[i]), "{case}");
            assert_eq!(nanos(&busy_point["start_time_unix_nano"]), start, "{case}");

            // Up-down counters stay cumulative from the exporter's start; gauges as they are.
            assert_eq!(temporality(&m["in_flight"]), 2, "{case}");
            let in_flight = point(&m["in_flight"], "sum");
            assert_eq!(nanos(&in_flight["start_time_unix_nano"]), created, "{case}");
            assert_eq!(
                in_flight["as_int"],
                snapshots[i].in_flight.to_string(),
                "{case}"
            );
            assert_eq!(point(&m["workers"], "gauge")["as_int"], "4", "{case}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_that_was_not_delivered_is_not_a_baseline() {
    let receiver = Receiver::start();
    let exporter = exporter(&receiver, OtlpProtocol::Grpc, Temporality::Delta);
    exporter.export(&work(&[("a", 5)], 1.0, 0)).await.unwrap();
    receiver.fault(
        json!({"mode": "status", "http_status": 400, "grpc_code": "INVALID_ARGUMENT", "count": 1}),
    );
    exporter
        .export(&work(&[("a", 8)], 2.0, 0))
        .await
        .unwrap_err();
    exporter.export(&work(&[("a", 9)], 3.0, 0)).await.unwrap();
    let received = receiver.wait_for(3, std::time::Duration::from_secs(10));
    let first = metrics_by_name(&received[0]);
    let last = metrics_by_name(&received[2]);
    let first_time = nanos(&point(&first["workers"], "gauge")["time_unix_nano"]);
    // 9 - 5 since the first export: the refused one's interval is in it.
    assert_eq!(
        done_points(&last["done"])["a"].0,
        first_time,
        "starts at the last delivered export"
    );
    assert_eq!(done_points(&last["done"])["a"].2, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lowmemory_and_cumulative_keep_counters_cumulative() {
    let receiver = Receiver::start();
    for temporality_preference in [Temporality::LowMemory, Temporality::Cumulative] {
        receiver.reset();
        let exporter = exporter(&receiver, OtlpProtocol::HttpJson, temporality_preference);
        exporter.export(&work(&[("a", 5)], 1.0, 1)).await.unwrap();
        exporter.export(&work(&[("a", 8)], 2.0, 1)).await.unwrap();
        let received = receiver.wait_for(2, std::time::Duration::from_secs(10));
        let last = metrics_by_name(&received[1]);
        assert_eq!(temporality(&last["done"]), 2, "{temporality_preference:?}");
        assert_eq!(
            done_points(&last["done"])["a"].2,
            8,
            "{temporality_preference:?}"
        );
    }
}

#[derive(MetricsGroup)]
struct Api {
    /// Latency by route.
    #[metric(unit = "s", label = "route", buckets = [0.1, 1])]
    latency: BTreeMap<String, Histogram>,
    /// Queue wait.
    #[metric(unit = "s")]
    wait: ExponentialHistogram,
    /// Requests.
    #[metric(counter)]
    requests: u64,
    /// Workers: a gauge, whose point gives each export's time.
    workers: u32,
}

fn histogram(values: &[f64]) -> Histogram {
    let histogram = Histogram::with_bounds(Api::LATENCY_BUCKETS).unwrap();
    for value in values {
        histogram.record(*value);
    }
    histogram
}

/// A uint64 as the receiver decodes it: a string, or absent when 0.
fn count(value: &Value) -> u64 {
    value.as_str().map_or(0, |v| v.parse().unwrap())
}

fn counts(value: &Value) -> Vec<u64> {
    value
        .as_array()
        .map_or_else(Vec::new, |a| a.iter().map(count).collect())
}

/// A histogram's temporality as the receiver decodes it.
fn histogram_temporality<'a>(metric: &'a Value, kind: &str) -> &'a str {
    metric[kind]["aggregation_temporality"].as_str().unwrap()
}

/// `latency`'s points: route -> (start, bucket counts, count, sum, min, max).
type LatencyPoint = (u64, Vec<u64>, u64, f64, Value, Value);

fn latency_points(metric: &Value) -> BTreeMap<String, LatencyPoint> {
    metric["histogram"]["data_points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let route = p["attributes"][0]["value"]["string_value"]
                .as_str()
                .unwrap();
            (
                route.to_owned(),
                (
                    nanos(&p["start_time_unix_nano"]),
                    counts(&p["bucket_counts"]),
                    count(&p["count"]),
                    p["sum"].as_f64().unwrap_or(0.0),
                    p["min"].clone(),
                    p["max"].clone(),
                ),
            )
        })
        .collect()
}

/// The exponential bucket of a power of two, `2^k`, at `scale` (buckets are upper-inclusive):
/// the specification's mapping, independent of the recorder's and of the delta's merging.
fn power_of_two_index(k: i64, scale: i32) -> i64 {
    if scale >= 0 {
        (k << scale) - 1
    } else {
        (k - 1) >> -scale
    }
}

/// A decoded exponential point's non-zero positive buckets: index -> count.
fn positive_buckets(point: &Value) -> BTreeMap<i64, u64> {
    let offset = point["positive"]["offset"].as_i64().unwrap_or(0);
    counts(&point["positive"]["bucket_counts"])
        .into_iter()
        .enumerate()
        .filter(|(_, c)| *c != 0)
        .map(|(i, c)| (offset + i as i64, c))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn histograms_send_bucket_changes_with_resets_and_vanished_series() {
    let receiver = Receiver::start();
    for protocol in PROTOCOLS {
        receiver.reset();
        let exporter = exporter(&receiver, protocol, Temporality::Delta);
        let mut api = Api {
            latency: BTreeMap::from([
                ("a".to_owned(), histogram(&[0.05, 0.5])),
                ("b".to_owned(), histogram(&[5.0])),
            ]),
            // 4 buckets a sign: 1 and 2 fit at scale 1; 1 to 64 only at scale -1.
            wait: ExponentialHistogram::with_max_size(4),
            requests: 1,
            workers: 2,
        };
        for value in [1.0, 2.0] {
            api.wait.record(value);
        }
        exporter.export(&api).await.unwrap();
        api.latency["a"].record(0.5);
        api.latency["a"].record(2.0);
        let between = [2.0, 16.0, 64.0, 0.0];
        for value in between {
            api.wait.record(value);
        }
        exporter.export(&api).await.unwrap();
        // `a` reset (a new histogram), `b` vanished.
        api.latency.insert("a".to_owned(), histogram(&[0.05]));
        api.latency.remove("b");
        exporter.export(&api).await.unwrap();
        // `b` back: a new series, whole.
        api.latency.insert("b".to_owned(), histogram(&[5.0]));
        exporter.export(&api).await.unwrap();

        let received = receiver.wait_for(4, std::time::Duration::from_secs(10));
        let metrics: Vec<_> = received.iter().map(metrics_by_name).collect();
        let times: Vec<u64> = metrics
            .iter()
            .map(|m| nanos(&point(&m["workers"], "gauge")["time_unix_nano"]))
            .collect();
        let [t0, t1, t2, _] = times[..] else {
            panic!("{times:?}")
        };
        let case = |i: usize| format!("{protocol} export {i}");
        for (i, m) in metrics.iter().enumerate() {
            assert_eq!(
                histogram_temporality(&m["latency"], "histogram"),
                "AGGREGATION_TEMPORALITY_DELTA",
                "{}",
                case(i)
            );
            assert_eq!(
                histogram_temporality(&m["wait"], "exponential_histogram"),
                "AGGREGATION_TEMPORALITY_DELTA",
                "{}",
                case(i)
            );
        }
        let latency: Vec<_> = metrics
            .iter()
            .map(|m| latency_points(&m["latency"]))
            .collect();
        let whole = |start, counts: &[u64], sum: f64, min: f64, max: f64| {
            let count = counts.iter().sum();
            (start, counts.to_vec(), count, sum, json!(min), json!(max))
        };
        assert!(latency[0]["a"].0 < t0, "{}", case(0));
        assert_eq!(
            latency[0]["a"],
            whole(latency[0]["a"].0, &[1, 1, 0], 0.55, 0.05, 0.5),
            "{}",
            case(0)
        );
        // Changes since the first export, without min and max (unknown for the interval).
        let want_1 = BTreeMap::from([
            (
                "a".to_owned(),
                (t0, vec![0, 1, 1], 2, 2.5, Value::Null, Value::Null),
            ),
            (
                "b".to_owned(),
                (t0, vec![0, 0, 0], 0, 0.0, Value::Null, Value::Null),
            ),
        ]);
        assert_eq!(latency[1], want_1, "{}", case(1));
        // A reset is whole, over the interval since the previous export; `b` is gone.
        let want_2 = BTreeMap::from([("a".to_owned(), whole(t1, &[1, 0, 0], 0.05, 0.05, 0.05))]);
        assert_eq!(latency[2], want_2, "{}", case(2));
        assert_eq!(
            latency[3]["b"],
            whole(t2, &[0, 0, 1], 5.0, 5.0, 5.0),
            "{}",
            case(3)
        );
        assert_eq!(latency[3]["a"].1, vec![0, 0, 0], "{}", case(3));

        // The exponential histogram downscaled between the first two exports.
        let first = point(&metrics[0]["wait"], "exponential_histogram");
        let second = point(&metrics[1]["wait"], "exponential_histogram");
        let scale = |p: &Value| p["scale"].as_i64().unwrap_or(0) as i32;
        assert_eq!((scale(&first), scale(&second)), (1, -1), "{}", case(1));
        assert_eq!(
            (first["min"].clone(), first["max"].clone()),
            (json!(1.0), json!(2.0))
        );
        let mut want: BTreeMap<i64, u64> = BTreeMap::new();
        for k in [1, 4, 6] {
            *want.entry(power_of_two_index(k, -1)).or_default() += 1;
        }
        assert_eq!(positive_buckets(&second), want, "{}", case(1));
        assert_eq!(count(&second["count"]), 4, "{}", case(1));
        assert_eq!(count(&second["zero_count"]), 1, "{}", case(1));
        assert_eq!(second["sum"], json!(82.0), "{}", case(1));
        assert_eq!(
            (second["min"].clone(), second["max"].clone()),
            (Value::Null, Value::Null)
        );
        assert_eq!(nanos(&second["start_time_unix_nano"]), t0, "{}", case(1));
        // Nothing recorded since: empty buckets.
        let third = point(&metrics[2]["wait"], "exponential_histogram");
        assert_eq!(positive_buckets(&third), BTreeMap::new(), "{}", case(2));
        assert_eq!(count(&third["count"]), 0, "{}", case(2));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lowmemory_makes_histograms_delta_and_keeps_counters_cumulative() {
    let receiver = Receiver::start();
    let cases = [
        (Temporality::LowMemory, "AGGREGATION_TEMPORALITY_DELTA", 2),
        (
            Temporality::Cumulative,
            "AGGREGATION_TEMPORALITY_CUMULATIVE",
            3,
        ),
    ];
    for protocol in [OtlpProtocol::Grpc, OtlpProtocol::HttpJson] {
        for (preference, histograms, second_count) in cases {
            receiver.reset();
            let exporter = exporter(&receiver, protocol, preference);
            let api = Api {
                latency: BTreeMap::from([("a".to_owned(), histogram(&[0.5]))]),
                wait: ExponentialHistogram::new(),
                requests: 5,
                workers: 1,
            };
            exporter.export(&api).await.unwrap();
            api.latency["a"].record(0.5);
            api.latency["a"].record(0.05);
            api.wait.record(1.0);
            exporter.export(&Api { requests: 8, ..api }).await.unwrap();
            let received = receiver.wait_for(2, std::time::Duration::from_secs(10));
            let last = metrics_by_name(&received[1]);
            let case = format!("{protocol} {preference:?}");
            assert_eq!(temporality(&last["requests"]), 2, "{case}");
            assert_eq!(point(&last["requests"], "sum")["as_int"], "8", "{case}");
            assert_eq!(
                histogram_temporality(&last["latency"], "histogram"),
                histograms,
                "{case}"
            );
            assert_eq!(
                histogram_temporality(&last["wait"], "exponential_histogram"),
                histograms,
                "{case}"
            );
            assert_eq!(
                latency_points(&last["latency"])["a"].2,
                second_count,
                "{case}"
            );
        }
    }
}
