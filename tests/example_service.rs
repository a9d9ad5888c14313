//! The example service end to end: it runs, exports, stops, and leaves a `metrics.json` that
//! serde reads back into the snapshot types, whole, with values that obey the simulation's
//! rules; its catalog, printed and committed, lists the metrics written out by hand in
//! `support::expected`.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::expected::{example_metrics, Metric};
use support::snapshot::{catalog_document, MetricsSnapshot};

const COMMITTED_CATALOG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/METRICS.md");

/// The example service's binary.
fn example_binary() -> PathBuf {
    support::example_binary("scheduler")
}

#[test]
fn runs_for_three_seconds_and_leaves_a_readable_metrics_file() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let unix_start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
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

    // Read by serde alone: every field there, none more (serde's own writer gives back the
    // same document, compared as values since map order may differ), pretty-printed.
    let text = std::fs::read_to_string(dir.path().join("metrics.json")).unwrap();
    let snapshot: MetricsSnapshot = serde_json::from_str(&text).unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(document, serde_json::to_value(&snapshot).unwrap());
    assert!(text.starts_with("{\n  \"timestamp\": "), "{text}");
    assert!(text.ends_with("\n}\n"), "{text}");
    // The simulation's rules (examples/scheduler/simulation.rs), as literals.
    let unix_end = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (unix_start..=unix_end).contains(&snapshot.timestamp),
        "{text}"
    );
    let scheduler = &snapshot.scheduler;
    assert!(scheduler.total_scheduled > 0, "{text}");
    // At least 2 s into a 3 s run, and no longer than the process lived.
    assert!(
        (2..=elapsed.as_secs()).contains(&scheduler.uptime_seconds),
        "{elapsed:?}: {text}"
    );
    assert_eq!(scheduler.max_capacity, 64);
    assert!(scheduler.running_agents <= 64, "{text}");
    let tasks = &snapshot.task_manager;
    assert_eq!(tasks.healthy_tasks, scheduler.running_agents);
    assert_eq!(
        tasks.total_tasks,
        scheduler.running_agents + scheduler.suspended_agents
    );
    assert_eq!(tasks.total_memory_usage, tasks.total_tasks * (48 << 20));
    assert_eq!(
        snapshot.load_balancer.active_allocations,
        scheduler.running_agents
    );
}

/// The catalog rows of `markdown` (name, kind, unit, labels, description), code quotes removed.
fn catalog_rows(markdown: &str) -> Vec<[String; 5]> {
    markdown
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<String> = line
                .trim_start_matches("| ")
                .trim_end_matches(" |")
                .split(" | ")
                .map(|cell| cell.trim().replace('`', ""))
                .collect();
            cells.try_into().unwrap_or_else(|cells| panic!("{cells:?}"))
        })
        .collect()
}

/// The catalog rows `metrics` must have.
fn expected_rows(metrics: &[Metric]) -> Vec<[String; 5]> {
    metrics
        .iter()
        .map(|m| {
            [
                m.name.to_owned(),
                m.kind.catalog_name().to_owned(),
                m.unit.to_owned(),
                m.label.unwrap_or("").to_owned(),
                m.description.to_owned(),
            ]
        })
        .collect()
}

/// The example's metrics that the test snapshot leaves without points (its receiver tables
/// hold only metrics with points), as catalog rows and catalog JSON, each after the metric it
/// follows in the schema.
fn pointless_metrics() -> [(&'static str, [&'static str; 5], Value); 2] {
    const BOUNDS: [f64; 9] = [
        0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005, 0.01,
    ];
    let finished = "Agents that finished since start, by queue and outcome.";
    let allocation = "Time to serve an allocation request, recorded at each request.";
    [
        (
            "scheduler.load_factor",
            [
                "scheduler.agents_finished",
                "counter",
                "{agent}",
                "queue, outcome",
                finished,
            ],
            serde_json::json!({
                "name": "scheduler.agents_finished", "kind": "counter", "unit": "{agent}",
                "value_type": "u64", "labels": ["queue", "outcome"], "description": finished,
            }),
        ),
        (
            "load_balancer.average_allocation_time_ms",
            [
                "load_balancer.allocation_time",
                "histogram [0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005, 0.01]",
                "s",
                "",
                allocation,
            ],
            serde_json::json!({
                "name": "load_balancer.allocation_time", "kind": "histogram", "unit": "s",
                "value_type": "histogram", "labels": [], "buckets": BOUNDS,
                "description": allocation,
            }),
        ),
    ]
}

/// Inserts each of [`pointless_metrics`] after its predecessor, named by `name_of`.
fn with_pointless<T>(
    mut items: Vec<T>,
    name_of: impl Fn(&T) -> String,
    make: impl Fn([&str; 5], Value) -> T,
) -> Vec<T> {
    for (after, row, json) in pointless_metrics() {
        let at = items
            .iter()
            .position(|item| name_of(item) == after)
            .unwrap()
            + 1;
        items.insert(at, make(row, json));
    }
    items
}

#[test]
fn committed_catalog_lists_the_example_metrics() {
    let committed = std::fs::read_to_string(COMMITTED_CATALOG).unwrap();
    let expected = with_pointless(
        expected_rows(&example_metrics()),
        |row| row[0].clone(),
        |row, _| row.map(str::to_owned),
    );
    assert_eq!(catalog_rows(&committed), expected);
}

#[test]
fn committed_catalog_is_up_to_date() {
    let committed = std::fs::read_to_string(COMMITTED_CATALOG).unwrap();
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
    assert!(markdown.status.success());
    let committed = std::fs::read_to_string(COMMITTED_CATALOG).unwrap();
    assert_eq!(String::from_utf8(markdown.stdout).unwrap(), committed);

    let json = Command::new(example_binary())
        .arg("--catalog-json")
        .output()
        .unwrap();
    assert!(json.status.success());
    let entries: Value = serde_json::from_slice(&json.stdout).unwrap();
    let expected: Vec<Value> = example_metrics()
        .iter()
        .map(|m| {
            serde_json::json!({
                "name": m.name,
                "kind": m.kind.catalog_name(),
                "unit": m.unit,
                "value_type": m.catalog_value_type(),
                "labels": m.label.into_iter().collect::<Vec<_>>(),
                "description": m.description,
            })
        })
        .collect();
    let expected = with_pointless(
        expected,
        |entry| entry["name"].as_str().unwrap_or("").to_owned(),
        |_, json| json,
    );
    assert_eq!(entries, Value::Array(expected));
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
