//! The static schema and the visitor: names, kinds, units, descriptions, labels and values.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use metrics_core::schema::{MetricKind, ValueType};
use metrics_core::{LabelValue, MetricsGroup, Number, PointValue, Visitor};

#[derive(MetricsGroup)]
#[metrics(prefix = "db")]
struct Pool {
    /// Connections open.
    ///
    /// Only the first paragraph becomes the description.
    open: u32,
    #[metric(
        up_down_counter,
        rename = "waiting_tasks",
        description = "Tasks waiting."
    )]
    waiters: i64,
}

#[derive(MetricsGroup)]
struct Service {
    #[metric(skip)]
    _started: u64,
    /// Requests served.
    #[metric(counter, unit = "{request}")]
    requests: u64,
    pool: Pool,
    replica: Option<Pool>,
    #[metric(flatten)]
    flat: Flat,
    #[metric(counter, unit = "By", label = "route")]
    bytes_by_route: BTreeMap<String, u64>,
    /// Up?
    up: bool,
    #[metric(unit = "s")]
    latency: Duration,
    ratio: Option<f32>,
}

#[derive(MetricsGroup)]
struct Flat {
    flat_gauge: f64,
}

fn service() -> Service {
    Service {
        _started: 0,
        requests: 10,
        pool: Pool {
            open: 3,
            waiters: -2,
        },
        replica: None,
        flat: Flat { flat_gauge: 0.5 },
        bytes_by_route: BTreeMap::from([("/a".into(), 1), ("/b".into(), 2)]),
        up: true,
        latency: Duration::from_millis(1500),
        ratio: None,
    }
}

#[test]
fn names_follow_nesting_prefix_rename_and_flatten() {
    let names: Vec<String> = Service::SCHEMA.metrics().map(|m| m.name).collect();
    assert_eq!(
        names,
        [
            "requests",
            "pool.db.open",
            "pool.db.waiting_tasks",
            "replica.db.open",
            "replica.db.waiting_tasks",
            "flat_gauge",
            "bytes_by_route",
            "up",
            "latency",
            "ratio",
        ]
    );
    assert_eq!(Service::SCHEMA.metric_count, names.len());
    assert_eq!(Service::SCHEMA.type_name, "Service");
}

#[test]
fn descriptors_carry_kind_unit_description_label_and_type() {
    let metrics: HashMap<String, _> = Service::SCHEMA
        .metrics()
        .map(|m| (m.name, *m.descriptor))
        .collect();
    let requests = metrics["requests"];
    assert_eq!(requests.kind, MetricKind::Counter);
    assert_eq!(requests.unit, "{request}");
    assert_eq!(requests.description, "Requests served.");
    assert_eq!(requests.value_type, ValueType::U64);
    assert_eq!(metrics["pool.db.open"].kind, MetricKind::Gauge);
    assert_eq!(metrics["pool.db.open"].description, "Connections open.");
    let waiting = metrics["pool.db.waiting_tasks"];
    assert_eq!(waiting.kind, MetricKind::UpDownCounter);
    assert_eq!(waiting.description, "Tasks waiting.");
    assert_eq!(waiting.value_type, ValueType::I64);
    assert_eq!(metrics["bytes_by_route"].labels, ["route"]);
    assert_eq!(metrics["up"].value_type, ValueType::U64);
    assert_eq!(metrics["latency"].value_type, ValueType::F64);
    assert_eq!(metrics["latency"].unit, "s");
    assert_eq!(metrics["ratio"].value_type, ValueType::F64);
    assert_eq!(metrics["flat_gauge"].unit, "");
}

/// Records what a visitor receives, keyed by full name.
#[derive(Default)]
struct Recorder {
    names: Vec<String>,
    cursor: usize,
    points: Vec<(String, Option<String>, Number)>,
}

impl Visitor for Recorder {
    fn point(&mut self, labels: &[LabelValue<'_>], value: PointValue<'_>) {
        let name = self.names[self.cursor].clone();
        let label = match labels {
            [] => None,
            [LabelValue::Str(text)] => Some((*text).to_owned()),
            other => panic!("unexpected labels {other:?}"),
        };
        let PointValue::Number(value) = value else {
            panic!("unexpected histogram");
        };
        self.points.push((name, label, value));
    }

    fn advance(&mut self, metrics: usize) {
        self.cursor += metrics;
    }
}

fn record<G: MetricsGroup>(group: &G) -> Recorder {
    let mut recorder = Recorder {
        names: G::SCHEMA.metrics().map(|m| m.name).collect(),
        ..Recorder::default()
    };
    group.visit(&mut recorder);
    assert_eq!(
        recorder.cursor,
        G::SCHEMA.metric_count,
        "every metric advanced past once"
    );
    recorder
}

#[test]
fn visitor_gets_values_in_schema_order_and_skips_absent_ones() {
    let recorder = record(&service());
    let point = |name: &str, label: Option<&str>, value: Number| {
        (name.to_owned(), label.map(str::to_owned), value)
    };
    assert_eq!(
        recorder.points,
        [
            point("requests", None, Number::U64(10)),
            point("pool.db.open", None, Number::U64(3)),
            point("pool.db.waiting_tasks", None, Number::I64(-2)),
            point("flat_gauge", None, Number::F64(0.5)),
            point("bytes_by_route", Some("/a"), Number::U64(1)),
            point("bytes_by_route", Some("/b"), Number::U64(2)),
            point("up", None, Number::U64(1)),
            point("latency", None, Number::F64(1.5)),
        ]
    );
}

#[test]
fn present_optional_group_is_visited() {
    let mut value = service();
    value.replica = Some(Pool {
        open: 7,
        waiters: 0,
    });
    value.ratio = Some(0.25);
    let recorder = record(&value);
    let names: Vec<&str> = recorder
        .points
        .iter()
        .map(|(name, _, _)| name.as_str())
        .collect();
    assert!(names.contains(&"replica.db.open"));
    assert!(recorder
        .points
        .contains(&("ratio".into(), None, Number::F64(0.25))));
}

#[test]
fn integer_extremes_saturate_only_beyond_64_bits() {
    #[derive(MetricsGroup)]
    struct Wide {
        big: u128,
        small: i128,
        max: u64,
        min: i64,
    }
    let recorder = record(&Wide {
        big: u128::MAX,
        small: i128::MIN,
        max: u64::MAX,
        min: i64::MIN,
    });
    let values: Vec<Number> = recorder.points.into_iter().map(|(_, _, v)| v).collect();
    assert_eq!(
        values,
        [
            Number::U64(u64::MAX),
            Number::I64(i64::MIN),
            Number::U64(u64::MAX),
            Number::I64(i64::MIN)
        ]
    );
}

#[test]
fn schema_is_usable_without_a_value_and_is_static() {
    fn count<G: MetricsGroup>() -> usize {
        G::SCHEMA.metrics().count()
    }
    assert_eq!(count::<Pool>(), 2);
    // Nested schemas are the nested type's own static, not a copy.
    let nested = Service::SCHEMA.fields.iter().find_map(|field| match field {
        metrics_core::schema::SchemaField::Group(group) if group.name == Some("pool") => {
            Some(group.schema)
        }
        _ => None,
    });
    assert!(std::ptr::eq(nested.unwrap(), Pool::SCHEMA));
}

#[test]
fn dotted_renames_beside_groups_are_fine_when_names_differ() {
    #[derive(MetricsGroup)]
    struct Dotted {
        pool: Pool,
        #[metric(rename = "pool.db.opened_total", counter)]
        opened: u64,
        #[metric(rename = "poolside.depth")]
        depth: u32,
    }
    let names: Vec<String> = Dotted::SCHEMA.metrics().map(|m| m.name).collect();
    assert_eq!(
        names,
        [
            "pool.db.open",
            "pool.db.waiting_tasks",
            "pool.db.opened_total",
            "poolside.depth"
        ]
    );
}
