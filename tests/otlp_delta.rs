//! Delta temporality (`otlp.temporality: "delta"`) decoded by the receiver
//! (tests/otlp_receiver) over each protocol: counters send per-series changes since the
//! previous export, starting at its time; a counter that goes down is a reset (the new value);
//! a vanished series is dropped and comes back as new; up-down counters stay cumulative and
//! gauges unchanged; an export that was not delivered is not a baseline. `lowmemory` keeps a
//! group's (asynchronous) counters cumulative, as the specification says.

mod support;

use std::collections::BTreeMap;

use metrics_core::config::{OtlpConfig, OtlpProtocol, Temporality};
use metrics_core::export::OtlpExporter;
use metrics_core::{MetricsConfig, MetricsExporter, MetricsGroup};
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
