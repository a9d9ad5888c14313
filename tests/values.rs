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
use support::receiver::{metrics_by_name, Receiver};

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
    #[metric(counter)]
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
    // serde_json writes a HashMap in iteration order; ours is sorted by key.
    let sorted: BTreeMap<&String, &u64> = wide.per_key.iter().collect();
    let theirs = serde_json::to_vec(&serde_json::json!({ "per_key": sorted })).unwrap();
    assert_eq!(ours, theirs);

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
        timeout_seconds: 10.0,
        ..OtlpConfig::new(receiver.url(protocol))
    };
    OtlpExporter::new(&MetricsConfig::default(), &otlp).unwrap()
}

/// The value of a metric's only data point, as the receiver decoded it.
fn only_point<'a>(metrics: &'a BTreeMap<String, Value>, name: &str) -> &'a Value {
    let metric = &metrics[name];
    let data = if metric["sum"].is_object() {
        &metric["sum"]
    } else {
        &metric["gauge"]
    };
    let points = data["data_points"].as_array().unwrap();
    assert_eq!(points.len(), 1, "{name}: {points:?}");
    &points[0]
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
        let metrics = metrics_by_name(&receiver.received()[0]);
        // NaN and infinities are left out; the rest of the export goes through.
        let names: Vec<&str> = metrics.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "fine",
                "huge",
                "huge_total",
                "max",
                "min",
                "min_delta",
                "mixed",
                "neg_zero"
            ],
            "{protocol}"
        );
        assert_eq!(only_point(&metrics, "fine")["as_double"], 1.5);
        let mixed = only_point(&metrics, "mixed");
        assert_eq!(mixed["as_double"], 1.0, "{protocol}");
        assert_eq!(mixed["attributes"][0]["value"]["string_value"], "a");
        let neg_zero = only_point(&metrics, "neg_zero")["as_double"].as_f64();
        assert!(
            neg_zero == Some(0.0) && neg_zero.unwrap().is_sign_negative(),
            "{protocol}"
        );
        // OTLP integers are signed 64-bit: larger unsigned values saturate.
        for name in ["huge", "huge_total", "max"] {
            let point = only_point(&metrics, name);
            assert_eq!(point["as_int"], i64::MAX.to_string(), "{protocol} {name}");
        }
        for name in ["min", "min_delta"] {
            let point = only_point(&metrics, name);
            assert_eq!(point["as_int"], i64::MIN.to_string(), "{protocol} {name}");
        }
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
    let received = receiver.received();
    let points = metrics_by_name(&received[0])["per_key"]["sum"]["data_points"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(points.len(), 100_000);
    for point in points {
        let key = point["attributes"][0]["value"]["string_value"]
            .as_str()
            .unwrap();
        let value: u64 = point["as_int"].as_str().unwrap().parse().unwrap();
        assert_eq!(wide.per_key[key], value);
    }
}
