//! The file exporter's OTLP/JSON lines (`format: "otlp_json"`) and `examples/replay.rs`: ten
//! exports written, replayed to the receiver (tests/otlp_receiver), arrive decoded equal to
//! what the file holds, with their original times; a spool directory replays too; rotation
//! keeps the configured files; a symbolic link is followed and a FIFO refused.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use metrics_core::config::{FileFormat, FileMetricsConfig, OtlpConfig, SpoolConfig};
use metrics_core::export::{FileExporter, OtlpExporter};
use metrics_core::{MetricsConfig, MetricsError, MetricsExporter, MetricsGroup};
use serde_json::Value;
use support::receiver::{metrics_by_name, Receiver};

#[derive(MetricsGroup)]
struct Tick {
    #[metric(counter)]
    seq: u64,
    /// Gauges by name, for lines of some size.
    #[metric(label = "name")]
    levels: BTreeMap<String, f64>,
}

fn tick(seq: u64) -> Tick {
    Tick {
        seq,
        levels: (0..5).map(|i| (format!("l{i}"), i as f64 / 4.0)).collect(),
    }
}

fn lines_exporter(path: &Path, max_bytes: u64, keep_files: u32) -> FileExporter {
    let config = FileMetricsConfig {
        format: FileFormat::OtlpJson,
        max_bytes,
        keep_files,
        ..FileMetricsConfig::new(path)
    };
    let metrics = MetricsConfig {
        service_name: "replayed".to_owned(),
        ..MetricsConfig::default()
    };
    FileExporter::new(config).with_resource(&metrics)
}

fn replay(args: &[&str]) -> String {
    let output = Command::new(support::example_binary("replay"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "replay {args:?}: {text}");
    text
}

fn seq_of(request: &Value) -> u64 {
    let record = serde_json::json!({ "request": request });
    metrics_by_name(&record)["seq"]["sum"]["data_points"][0]["as_int"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_exports_written_and_replayed_arrive_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.jsonl");
    let exporter = lines_exporter(&path, 64 << 20, 3);
    for seq in 0..10 {
        exporter.export(&tick(seq)).await.unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 10);
    assert!(text.ends_with('\n'));

    let receiver = Receiver::start();
    let output = replay(&[path.to_str().unwrap(), "--endpoint", &receiver.http_url()]);
    assert!(output.contains("sent 10 requests"), "{output}");
    let received = receiver.received();
    assert_eq!(received.len(), 10);
    let mut times = Vec::new();
    for (line, record) in lines.iter().zip(&received) {
        assert_eq!(record["protocol"], "http/json");
        assert_eq!(record["request"], receiver.decode(line), "decoded equal");
        let point = &metrics_by_name(record)["seq"]["sum"]["data_points"][0];
        times.push(
            point["time_unix_nano"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap(),
        );
        let resource = &record["request"]["resource_metrics"][0]["resource"]["attributes"][0];
        assert_eq!(resource["value"]["string_value"], "replayed");
    }
    let seqs: Vec<u64> = received.iter().map(|r| seq_of(&r["request"])).collect();
    assert_eq!(seqs, (0..10).collect::<Vec<_>>());
    // The times of the exports (increasing), not of the replay.
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    let line: Value = serde_json::from_str(lines[9]).unwrap();
    let written = line["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["sum"]["dataPoints"]
        [0]["timeUnixNano"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    assert_eq!(times[9], written);

    // Not over another protocol: the bytes would change.
    let refused = Command::new(support::example_binary("replay"))
        .args([
            path.to_str().unwrap(),
            "--endpoint",
            &receiver.grpc_url(),
            "--protocol",
            "grpc",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("http/json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spool_directory_replays_oldest_first_and_is_emptied() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let otlp = OtlpConfig {
        timeout_seconds: 0.2,
        spool: Some(SpoolConfig::new(dir.path())),
        ..OtlpConfig::new(format!("http://127.0.0.1:{port}"))
    };
    let exporter = OtlpExporter::new(&MetricsConfig::default(), &otlp).unwrap();
    for seq in 0..25 {
        let error = exporter.export(&tick(seq)).await.unwrap_err();
        assert!(matches!(error, MetricsError::OtlpSpooled { .. }), "{error}");
    }
    drop(exporter);
    let receiver = Receiver::start();
    let output = replay(&[
        dir.path().to_str().unwrap(),
        "--endpoint",
        &receiver.grpc_url(),
        "--protocol",
        "grpc",
    ]);
    assert!(output.contains("sent 25 requests"), "{output}");
    let seqs: Vec<u64> = receiver
        .received()
        .iter()
        .map(|r| seq_of(&r["request"]))
        .collect();
    assert_eq!(seqs, (0..25).collect::<Vec<_>>());
    let left = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".otlp")
        })
        .count();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_keeps_the_configured_files_and_every_line_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.jsonl");
    let exporter = lines_exporter(&path, 4096, 2);
    for seq in 0..60 {
        exporter.export(&tick(seq)).await.unwrap();
    }
    let numbered = |n: u32| dir.path().join(format!("metrics.jsonl.{n}"));
    assert!(numbered(2).exists() && !numbered(3).exists());
    let mut seqs = Vec::new();
    for file in [numbered(2), numbered(1), path.clone()] {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.len() <= 4096, "{}: {}", file.display(), text.len());
        for line in text.lines() {
            let request: Value = serde_json::from_str(line).unwrap();
            let point = &request["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0];
            assert_eq!(point["name"], "seq");
            seqs.push(
                point["sum"]["dataPoints"][0]["asInt"]
                    .as_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap(),
            );
        }
    }
    // The newest, consecutive, ending with the last export.
    let first = seqs[0];
    assert_eq!(seqs, (first..60).collect::<Vec<_>>());
    assert!(first > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_is_followed_and_a_fifo_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.jsonl");
    std::fs::write(&target, "").unwrap();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let exporter = lines_exporter(&link, 64 << 20, 1);
    exporter.export(&tick(1)).await.unwrap();
    exporter.export(&tick(2)).await.unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap().lines().count(), 2);

    let fifo = dir.path().join("fifo");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let exporter = lines_exporter(&fifo, 64 << 20, 1);
    let result = tokio::time::timeout(Duration::from_secs(10), exporter.export(&tick(1)))
        .await
        .expect("the export blocked on the FIFO");
    let error = result.unwrap_err().to_string();
    assert!(error.contains("FIFO"), "{error}");
}
