//! Extreme values, as the README's "Guarantees" describes them: NaN, ±infinity, -0.0,
//! `u64::MAX`, `i64::MIN` and a 100,000-entry map, in JSON (and the file) and over OTLP.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use metrics_core::config::{FileMetricsConfig, OtlpConfig, OtlpProtocol};
use metrics_core::export::{FileExporter, OtlpExporter};
use metrics_core::{json, MetricsConfig, MetricsExporter, MetricsGroup};
use serde::Serialize;
use serde_json::Value;
use support::expected::{assert_arrived, Kind, Metric, Point};
use support::receiver::Receiver;

#[derive(MetricsGroup, Serialize)]
struct Edge {
    nan: f64,
    inf: f64,
    neg_inf: f64,
    neg_zero: f64,
    fine: f64,
    /// One finite entry, one infinite, one NaN.
    #[metric(label = "k")]
    mixed: BTreeMap<String, f64>,
    huge: u64,
    // Not `huge_total`: with the gauge `huge` that is one Prometheus family, a compile error.
    #[metric(counter, rename = "huge_count")]
    huge_total: u64,
    min: i64,
    #[metric(up_down_counter)]
    min_delta: i64,
    max: i64,
}

fn edge() -> Edge {
    Edge {
        nan: f64::NAN,
        inf: f64::INFINITY,
        neg_inf: f64::NEG_INFINITY,
        neg_zero: -0.0,
        fine: 1.5,
        mixed: BTreeMap::from([
            ("a".into(), 1.0),
            ("b".into(), f64::NEG_INFINITY),
            ("c".into(), f64::NAN),
        ]),
        huge: u64::MAX,
        huge_total: u64::MAX,
        min: i64::MIN,
        min_delta: i64::MIN,
        max: i64::MAX,
    }
}

#[derive(MetricsGroup, Serialize)]
struct Wide {
    #[metric(counter, label = "key")]
    per_key: HashMap<String, u64>,
}

fn wide() -> Wide {
    Wide {
        per_key: (0..100_000u64).map(|i| (format!("k{i:06}"), i)).collect(),
    }
}

#[test]
fn json_writes_extremes_as_serde_json_does() {
    let edge = edge();
    let compact = json::to_string(&edge).unwrap();
    assert_eq!(compact, serde_json::to_string(&edge).unwrap());
    assert_eq!(
        json::to_string_pretty(&edge).unwrap(),
        serde_json::to_string_pretty(&edge).unwrap()
    );
    assert_eq!(
        compact,
        concat!(
            r#"{"nan":null,"inf":null,"neg_inf":null,"neg_zero":-0.0,"fine":1.5,"#,
            r#""mixed":{"a":1.0,"b":null,"c":null},"huge":18446744073709551615,"#,
            r#""huge_total":18446744073709551615,"min":-9223372036854775808,"#,
            r#""min_delta":-9223372036854775808,"max":9223372036854775807}"#
        )
    );
    // Parses back: integers exact, -0.0 keeps its sign, non-finite values are null.
    let parsed: Value = serde_json::from_str(&compact).unwrap();
    assert_eq!(parsed["huge"].as_u64(), Some(u64::MAX));
    assert_eq!(parsed["min"].as_i64(), Some(i64::MIN));
    assert!(parsed["neg_zero"].as_f64().unwrap().is_sign_negative());
    assert!(parsed["nan"].is_null() && parsed["mixed"]["b"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_and_the_file_carry_a_hundred_thousand_entries() {
    let wide = wide();
    let started = Instant::now();
    let ours = json::to_vec(&wide).unwrap();
    eprintln!(
        "100,000 entries: {} bytes of JSON in {:?}",
        ours.len(),
        started.elapsed()
    );
    // Both write a HashMap in its iteration order: byte for byte what serde_json writes.
    let theirs = serde_json::to_vec(&wide).unwrap();
    assert!(ours == theirs, "our JSON differs from serde_json's");
    let parsed: serde_json::Value = serde_json::from_slice(&ours).unwrap();
    assert_eq!(parsed["per_key"].as_object().unwrap().len(), 100_000);
    assert_eq!(parsed["per_key"]["k099999"], 99_999);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wide.json");
    let exporter = FileExporter::new(FileMetricsConfig {
        pretty_print: false,
        ..FileMetricsConfig::new(&path)
    });
    exporter.export(&wide).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), ours);
}

fn exporter(receiver: &Receiver, protocol: OtlpProtocol) -> OtlpExporter {
    let otlp = OtlpConfig {
        protocol,
        // Generous: 100,000 points take the debug build and the receiver seconds (measured:
        // 13 s with both cores loaded by builds).
        timeout_seconds: 60.0,
        ..OtlpConfig::new(receiver.url(protocol))
    };
    OtlpExporter::new(&MetricsConfig::default(), &otlp).unwrap()
}

/// What `edge()` must arrive as: the finite values, each with its exact OTLP type.
fn edge_metrics() -> Vec<Metric> {
    use Kind::{Counter, Gauge, UpDownCounter};
    use Point::{Double, Int};
    vec![
        Metric::one("fine", Gauge, "", "", Double(1.5)),
        Metric::one("huge", Gauge, "", "", Int(i64::MAX)),
        Metric::one("huge_count", Counter, "", "", Int(i64::MAX)),
        Metric::one("max", Gauge, "", "", Int(i64::MAX)),
        Metric::one("min", Gauge, "", "", Int(i64::MIN)),
        Metric::one("min_delta", UpDownCounter, "", "", Int(i64::MIN)),
        Metric::labeled(
            "mixed",
            Gauge,
            "",
            "One finite entry, one infinite, one NaN.",
            "k",
            [("a", Double(1.0))],
        ),
        Metric::one("neg_zero", Gauge, "", "", Double(-0.0)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_leaves_out_non_finite_values_with_a_warning_and_saturates_u64() {
    let logs = support::logs::capture();
    let receiver = Receiver::start();
    for protocol in [
        OtlpProtocol::Grpc,
        OtlpProtocol::HttpBinary,
        OtlpProtocol::HttpJson,
    ] {
        receiver.reset();
        exporter(&receiver, protocol)
            .export(&edge())
            .await
            .unwrap_or_else(|e| panic!("{protocol}: {e}"));
        // NaN and infinities are left out, the rest goes through; OTLP integers are
        // signed 64-bit, so larger unsigned values saturate; -0.0 keeps its sign.
        eprintln!("{protocol}");
        assert_arrived(&receiver.received()[0], &edge_metrics());
        assert!(receiver.rejected().is_empty(), "{protocol}");
    }
    // Warned once per exporter, naming the metrics left out; an unchanged set again is a
    // debug line, a changed one warns again.
    let exporter = exporter(&receiver, OtlpProtocol::Grpc);
    exporter.export(&edge()).await.unwrap();
    exporter.export(&edge()).await.unwrap();
    let logs_so_far = logs.text();
    assert_eq!(
        logs_so_far.matches("left out again").count(),
        1,
        "{logs_so_far}"
    );
    let mut changed = edge();
    changed.nan = 0.5;
    exporter.export(&changed).await.unwrap();
    let logs = logs.text();
    let warnings: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("left out of the OTLP export"))
        .collect();
    assert_eq!(warnings.len(), 5, "{logs}");
    assert!(
        warnings[4].contains(r#"metrics=["inf", "neg_inf", "mixed"]"#),
        "{}",
        warnings[4]
    );
    for warning in &warnings[..4] {
        assert!(warning.contains("WARN"), "{warning}");
        assert!(
            warning.contains(r#"metrics=["nan", "inf", "neg_inf", "mixed"]"#),
            "{warning}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_carries_a_hundred_thousand_entries() {
    let receiver = Receiver::start();
    let exporter = exporter(&receiver, OtlpProtocol::Grpc);
    let wide = wide();
    let started = Instant::now();
    exporter.export(&wide).await.unwrap();
    eprintln!("100,000 points over gRPC in {:?}", started.elapsed());
    let want = Metric {
        name: "per_key",
        kind: Kind::Counter,
        unit: "",
        description: "",
        label: Some("key"),
        points: (0..100_000)
            .map(|i| (Some(format!("k{i:06}")), Point::Int(i)))
            .collect(),
    };
    assert_arrived(&receiver.received()[0], &[want]);
}

/// Each kind with each value type, over each protocol: counters arrive as monotonic
/// cumulative Sums, up-down counters as non-monotonic cumulative Sums, gauges as Gauges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_arrives_as_its_otlp_type() {
    #[derive(MetricsGroup)]
    struct Kinds {
        #[metric(counter)]
        count: u64,
        #[metric(counter)]
        count_f: f64,
        #[metric(up_down_counter)]
        level: i64,
        #[metric(up_down_counter)]
        level_u: u32,
        #[metric(up_down_counter)]
        level_f: f64,
        #[metric(gauge)]
        gauge: i64,
        gauge_f: f64,
    }
    use Kind::{Counter, Gauge, UpDownCounter};
    use Point::{Double, Int};
    let want = [
        Metric::one("count", Counter, "", "", Int(7)),
        Metric::one("count_f", Counter, "", "", Double(2.5)),
        Metric::one("level", UpDownCounter, "", "", Int(-4)),
        Metric::one("level_u", UpDownCounter, "", "", Int(9)),
        Metric::one("level_f", UpDownCounter, "", "", Double(-0.5)),
        Metric::one("gauge", Gauge, "", "", Int(-1)),
        Metric::one("gauge_f", Gauge, "", "", Double(0.25)),
    ];
    let receiver = Receiver::start();
    for protocol in [
        OtlpProtocol::Grpc,
        OtlpProtocol::HttpBinary,
        OtlpProtocol::HttpJson,
    ] {
        receiver.reset();
        let kinds = Kinds {
            count: 7,
            count_f: 2.5,
            level: -4,
            level_u: 9,
            level_f: -0.5,
            gauge: -1,
            gauge_f: 0.25,
        };
        exporter(&receiver, protocol).export(&kinds).await.unwrap();
        eprintln!("{protocol}");
        assert_arrived(&receiver.received()[0], &want);
    }
}
