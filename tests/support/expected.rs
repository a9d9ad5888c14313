//! What must arrive, written out by hand: the example snapshot's metrics as literals, and the
//! check of a request the receiver decoded against such a table.
//!
//! The expectations never come from the derive's schema or visitor, the same code the
//! exporters read: a wrong name, unit, description, kind or value there would otherwise be
//! expected as well as sent.

use serde_json::Value;

use super::receiver::metrics_by_name;

/// A metric's kind, and the OTLP data type it must arrive as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A Gauge.
    Gauge,
    /// A monotonic cumulative Sum.
    Counter,
    /// A non-monotonic cumulative Sum.
    UpDownCounter,
}

impl Kind {
    /// The kind as the catalog names it.
    pub fn catalog_name(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::UpDownCounter => "up_down_counter",
        }
    }
}

/// A point's value: OTLP's `as_int` or `as_double`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Point {
    Int(i64),
    Double(f64),
}

impl Point {
    /// A comparable form that tells `as_int` from `as_double` and keeps the sign of `-0.0`.
    fn key(self) -> String {
        match self {
            Point::Int(v) => format!("as_int {v}"),
            Point::Double(v) => format!("as_double {v:?}"),
        }
    }
}

/// One metric as it must arrive.
#[derive(Clone, Debug)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub unit: &'static str,
    pub description: &'static str,
    /// The attribute key of a labeled metric's points.
    pub label: Option<&'static str>,
    /// (label value, value) per point; the label value is `None` for an unlabeled metric.
    pub points: Vec<(Option<String>, Point)>,
}

impl Metric {
    /// An unlabeled metric with one point.
    pub fn one(
        name: &'static str,
        kind: Kind,
        unit: &'static str,
        description: &'static str,
        value: Point,
    ) -> Metric {
        Metric {
            name,
            kind,
            unit,
            description,
            label: None,
            points: vec![(None, value)],
        }
    }

    /// A labeled metric with a point per (label value, value).
    pub fn labeled<'a>(
        name: &'static str,
        kind: Kind,
        unit: &'static str,
        description: &'static str,
        label: &'static str,
        points: impl IntoIterator<Item = (&'a str, Point)>,
    ) -> Metric {
        Metric {
            name,
            kind,
            unit,
            description,
            label: Some(label),
            points: points
                .into_iter()
                .map(|(key, value)| (Some(key.to_owned()), value))
                .collect(),
        }
    }

    /// The value type as the catalog names it.
    pub fn catalog_value_type(&self) -> &'static str {
        match self.points.first().map(|(_, value)| *value) {
            Some(Point::Double(_)) => "f64",
            _ => "u64",
        }
    }
}

/// The 23 metrics of [`super::example_snapshot`], in schema order, with their values.
pub fn example_metrics() -> Vec<Metric> {
    use Kind::{Counter, Gauge};
    use Point::{Double, Int};
    vec![
        Metric::one(
            "scheduler.total_scheduled",
            Counter,
            "{agent}",
            "Total number of agents scheduled since start.",
            Int(42),
        ),
        Metric::one(
            "scheduler.uptime_seconds",
            Counter,
            "s",
            "Time since the scheduler started.",
            Int(3600),
        ),
        Metric::one(
            "scheduler.running_agents",
            Gauge,
            "{agent}",
            "Agents currently running.",
            Int(5),
        ),
        Metric::one(
            "scheduler.queued_agents",
            Gauge,
            "{agent}",
            "Agents waiting in the queue.",
            Int(3),
        ),
        Metric::one(
            "scheduler.suspended_agents",
            Gauge,
            "{agent}",
            "Agents currently suspended.",
            Int(2),
        ),
        Metric::one(
            "scheduler.max_capacity",
            Gauge,
            "{agent}",
            "Maximum number of agents the scheduler admits.",
            Int(1000),
        ),
        Metric::one(
            "scheduler.load_factor",
            Gauge,
            "1",
            "Running agents as a fraction of capacity (0.0-1.0).",
            Double(0.005),
        ),
        Metric::one(
            "task_manager.total_tasks",
            Gauge,
            "{task}",
            "Tasks currently managed.",
            Int(5),
        ),
        Metric::one(
            "task_manager.healthy_tasks",
            Gauge,
            "{task}",
            "Managed tasks that pass their health check.",
            Int(4),
        ),
        Metric::one(
            "task_manager.average_uptime_seconds",
            Gauge,
            "s",
            "Mean uptime of the managed tasks.",
            Double(1800.5),
        ),
        Metric::one(
            "task_manager.total_memory_usage",
            Gauge,
            "By",
            "Memory used by all managed tasks.",
            Int(1_073_741_824),
        ),
        Metric::one(
            "load_balancer.total_allocations",
            Counter,
            "{allocation}",
            "Resource allocations made since start.",
            Int(100),
        ),
        Metric::one(
            "load_balancer.active_allocations",
            Gauge,
            "{allocation}",
            "Allocations currently held.",
            Int(5),
        ),
        Metric::one(
            "load_balancer.memory_utilization",
            Gauge,
            "1",
            "Fraction of the memory pool allocated (0.0-1.0).",
            Double(0.45),
        ),
        Metric::one(
            "load_balancer.cpu_utilization",
            Gauge,
            "1",
            "Fraction of the CPU pool allocated (0.0-1.0).",
            Double(0.3),
        ),
        Metric::one(
            "load_balancer.allocation_failures",
            Counter,
            "{allocation}",
            "Allocation requests refused since start.",
            Int(2),
        ),
        Metric::one(
            "load_balancer.average_allocation_time_ms",
            Gauge,
            "ms",
            "Mean time to serve an allocation request.",
            Double(1.5),
        ),
        Metric::one(
            "system.memory_usage_mb",
            Gauge,
            "MiBy",
            "Resident memory of the process.",
            Double(512.25),
        ),
        Metric::one(
            "system.cpu_usage_percent",
            Gauge,
            "%",
            "CPU time used by the process, as a percentage of one core.",
            Double(30.0),
        ),
        Metric::one(
            "compaction.total_compactions",
            Counter,
            "{compaction}",
            "Total number of compaction runs.",
            Int(9),
        ),
        Metric::one(
            "compaction.total_tokens_saved",
            Counter,
            "{token}",
            "Cumulative tokens reclaimed.",
            Int(123_456),
        ),
        Metric::labeled(
            "compaction.compactions_by_tier",
            Counter,
            "{compaction}",
            "Compactions by tier.",
            "tier",
            [("light", Int(6)), ("deep", Int(2)), ("full", Int(1))],
        ),
        Metric::one(
            "compaction.context_utilization_ratio",
            Gauge,
            "1",
            "Current context utilization ratio (0.0-1.0), if known.",
            Double(0.75),
        ),
    ]
}

/// Asserts that the request in `record` (a record of `Receiver::received`) carries exactly
/// `expected`: no other metric, and each with its data type (Gauge, or a cumulative Sum of
/// the right monotonicity), unit, description, attribute and points, values typed as
/// `as_int` or `as_double`.
pub fn assert_arrived(record: &Value, expected: &[Metric]) {
    let received = metrics_by_name(record);
    let mut want_names: Vec<&str> = expected.iter().map(|m| m.name).collect();
    want_names.sort_unstable();
    let got_names: Vec<&str> = received.keys().map(String::as_str).collect();
    assert_eq!(got_names, want_names, "the metrics that arrived");
    for metric in expected {
        assert_metric(&received[metric.name], metric);
    }
}

/// Asserts that one received metric is `want`.
pub fn assert_metric(got: &Value, want: &Metric) {
    let name = want.name;
    assert_eq!(
        got["unit"].as_str().unwrap_or(""),
        want.unit,
        "{name}: unit"
    );
    assert_eq!(
        got["description"].as_str().unwrap_or(""),
        want.description,
        "{name}: description"
    );
    let data = match want.kind {
        Kind::Gauge => {
            assert!(
                got.get("sum").is_none(),
                "{name}: a Sum, not a Gauge: {got}"
            );
            &got["gauge"]
        }
        Kind::Counter | Kind::UpDownCounter => {
            assert!(
                got.get("gauge").is_none(),
                "{name}: a Gauge, not a Sum: {got}"
            );
            let sum = &got["sum"];
            assert_eq!(
                sum["aggregation_temporality"], "AGGREGATION_TEMPORALITY_CUMULATIVE",
                "{name}: {got}"
            );
            // proto3 JSON leaves out a false `is_monotonic`.
            assert_eq!(
                sum["is_monotonic"].as_bool().unwrap_or(false),
                want.kind == Kind::Counter,
                "{name}: is_monotonic: {got}"
            );
            sum
        }
    };
    let points = data["data_points"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no data points: {got}"));
    let mut got_points: Vec<(Option<String>, String)> = points
        .iter()
        .map(|point| (label_of(point, want), value_of(point, name)))
        .collect();
    let mut want_points: Vec<(Option<String>, String)> = want
        .points
        .iter()
        .map(|(label, value)| (label.clone(), value.key()))
        .collect();
    got_points.sort();
    want_points.sort();
    assert_eq!(got_points, want_points, "{name}: points");
}

/// The point's only attribute value (with the expected key), or `None` without attributes.
fn label_of(point: &Value, want: &Metric) -> Option<String> {
    let attributes = point["attributes"].as_array().cloned().unwrap_or_default();
    assert!(attributes.len() <= 1, "{}: {attributes:?}", want.name);
    let attribute = attributes.first()?;
    assert_eq!(attribute["key"].as_str(), want.label, "{}: key", want.name);
    Some(attribute["value"]["string_value"].as_str()?.to_owned())
}

/// The point's value in the form of [`Point::key`]; exactly one of the two value fields.
fn value_of(point: &Value, name: &str) -> String {
    match (&point["as_int"], &point["as_double"]) {
        // MessageToDict writes int64 as a string.
        (Value::String(int), Value::Null) => {
            let int: i64 = int.parse().unwrap_or_else(|e| panic!("{name}: {int}: {e}"));
            Point::Int(int).key()
        }
        (Value::Null, Value::Number(double)) => Point::Double(double.as_f64().unwrap()).key(),
        _ => panic!("{name}: not exactly one finite value in {point}"),
    }
}
