//! The example service end to end: it runs, exports, stops, and leaves a `metrics.json` that
//! reads back into the snapshot types; its committed catalog is up to date.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use support::snapshot::{catalog_document, MetricsSnapshot};

/// The example binary `cargo test` builds next to the test binaries.
fn example_binary() -> PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let binary = deps.parent().unwrap().join("examples").join("scheduler");
    assert!(
        binary.exists(),
        "{} not built: run the tests with `cargo test`",
        binary.display()
    );
    binary
}

#[test]
fn runs_for_three_seconds_and_leaves_a_readable_metrics_file() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = Command::new(example_binary())
        .args(["--duration", "3"])
        .current_dir(dir.path())
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    // One line per export: the first at once, one a second, and the final one.
    let exports: Vec<&str> = stdout
        .lines()
        .filter(|line| line.contains("export #"))
        .collect();
    assert!((4..=5).contains(&exports.len()), "{stdout}");
    assert!(
        exports.iter().all(|line| line.contains(": ok in")),
        "{stdout}"
    );
    assert!(exports.last().unwrap().contains("(final)"), "{stdout}");

    let text = std::fs::read_to_string(dir.path().join("metrics.json")).unwrap();
    let snapshot: MetricsSnapshot = serde_json::from_str(&text).unwrap();
    assert!(snapshot.scheduler.total_scheduled > 0);
    assert!(snapshot.scheduler.uptime_seconds >= 2);
    // The file is the writer's pretty output of that snapshot. Its map is a `HashMap`, written
    // in iteration order, which reading it back does not keep: compare the documents, and
    // the lengths for the formatting.
    let rewritten = metrics_core::json::to_string_pretty(&snapshot).unwrap() + "\n";
    let document = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    assert_eq!(document(&rewritten), document(&text));
    assert_eq!(rewritten.len(), text.len(), "{text}");
}

#[test]
fn committed_catalog_is_up_to_date() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/METRICS.md")).unwrap();
    assert!(
        committed == catalog_document(),
        "docs/METRICS.md is out of date: run `cargo run --example scheduler -- --catalog > docs/METRICS.md`"
    );
}

#[test]
fn catalog_flags_print_markdown_and_json() {
    let markdown = Command::new(example_binary())
        .arg("--catalog")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(markdown.stdout).unwrap(),
        catalog_document()
    );
    let json = Command::new(example_binary())
        .arg("--catalog-json")
        .output()
        .unwrap();
    let entries: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 23);
    assert_eq!(entries[21]["name"], "compaction.compactions_by_tier");
    assert_eq!(entries[21]["labels"][0], "tier");
}

#[test]
fn bad_arguments_exit_with_usage() {
    let output = Command::new(example_binary())
        .arg("--durtion")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage:"));
}
