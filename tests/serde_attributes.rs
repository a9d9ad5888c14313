//! serde attributes on structs deriving both `MetricsGroup` and `Serialize`: the derived JSON
//! writer follows `rename`, `rename_all`, `skip` and `skip_serializing` byte for byte, compact
//! and pretty, and the metric names do not follow them.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use metrics_core::{json, MetricsGroup, PointValue};
use serde::{Deserialize, Serialize};

/// Writes `value` both ways and compares with serde_json, returning the compact text.
fn assert_same<T: MetricsGroup + Serialize>(value: &T) -> String {
    let compact = json::to_string(value).unwrap();
    assert_eq!(compact, serde_json::to_string(value).unwrap());
    assert_eq!(
        json::to_string_pretty(value).unwrap(),
        serde_json::to_string_pretty(value).unwrap()
    );
    compact
}

fn names<T: MetricsGroup>() -> Vec<String> {
    T::SCHEMA.metrics().map(|metric| metric.name).collect()
}

macro_rules! rename_all_case {
    ($name:ident, $rule:literal) => {
        // `double__underscore`: how each rule treats a run of underscores.
        #[allow(non_snake_case)]
        #[derive(MetricsGroup, Serialize, Deserialize, Debug, PartialEq, Default)]
        #[serde(rename_all = $rule)]
        struct $name {
            #[metric(counter)]
            requests_total: u64,
            a: u32,
            very_long_field_name: f64,
            z42: u8,
            r#type: u16,
            #[metric(rename = "leading")]
            _leading: u8,
            trailing_: u8,
            double__underscore: u8,
            x_1_y: u8,
            #[serde(rename = "explicit-key")]
            renamed_field: u8,
            #[metric(label = "route")]
            by_route: BTreeMap<String, u64>,
        }
    };
}

rename_all_case!(Lower, "lowercase");
rename_all_case!(Upper, "UPPERCASE");
rename_all_case!(Pascal, "PascalCase");
rename_all_case!(Camel, "camelCase");
rename_all_case!(Snake, "snake_case");
rename_all_case!(ScreamingSnake, "SCREAMING_SNAKE_CASE");
rename_all_case!(Kebab, "kebab-case");
rename_all_case!(ScreamingKebab, "SCREAMING-KEBAB-CASE");

/// The keys every rule gives, in field order, as serde_json writes them.
fn keys<T: MetricsGroup + Serialize + Default>() -> Vec<String> {
    /// An object's keys in document order (serde_json's `Map` sorts them).
    struct Keys(Vec<String>);
    impl<'de> Deserialize<'de> for Keys {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> serde::de::Visitor<'de> for Visit {
                type Value = Keys;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some((key, serde::de::IgnoredAny)) = map.next_entry()? {
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            deserializer.deserialize_map(Visit)
        }
    }
    let keys: Keys = serde_json::from_str(&assert_same(&T::default())).unwrap();
    keys.0
}

#[test]
fn every_rename_all_rule_matches_serde() {
    fn filled<T>(make: impl Fn(u64) -> T)
    where
        T: MetricsGroup + Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        for seed in [0, 1, u64::MAX] {
            let value = make(seed);
            let compact = assert_same(&value);
            let back: T = serde_json::from_str(&compact).unwrap();
            assert_eq!(back, value);
        }
    }
    macro_rules! check {
        ($($name:ident),*) => {$(
            filled(|seed| $name {
                requests_total: seed,
                a: 7,
                very_long_field_name: seed as f64 / 3.0,
                by_route: BTreeMap::from([("/a\"b".to_owned(), seed), ("/".to_owned(), 1)]),
                ..$name::default()
            });
            // serde's rules rename JSON keys only: the metrics keep the field names.
            assert_eq!(names::<$name>()[0], "requests_total");
            assert_eq!(names::<$name>()[4], "type");
        )*};
    }
    check!(
        Lower,
        Upper,
        Pascal,
        Camel,
        Snake,
        ScreamingSnake,
        Kebab,
        ScreamingKebab
    );

    let camel = keys::<Camel>();
    assert_eq!(
        camel,
        [
            "requestsTotal",
            "a",
            "veryLongFieldName",
            "z42",
            "type",
            "leading",
            "trailing",
            "doubleUnderscore",
            "x1Y",
            "explicit-key",
            "byRoute",
        ]
    );
    assert_eq!(keys::<Pascal>()[5], "Leading");
    assert_eq!(keys::<ScreamingKebab>()[7], "DOUBLE--UNDERSCORE");
    assert_eq!(keys::<Kebab>()[6], "trailing-");
    assert_eq!(keys::<Upper>()[4], "TYPE");
}

/// The issue's case: `rename_all = "camelCase"` on a snapshot.
#[derive(MetricsGroup, Serialize)]
#[serde(rename_all = "camelCase")]
struct Gateway {
    #[metric(counter)]
    requests_total: u64,
}

#[test]
fn the_reported_camel_case_snapshot_is_written_as_serde_writes_it() {
    assert_eq!(
        assert_same(&Gateway { requests_total: 1 }),
        r#"{"requestsTotal":1}"#
    );
}

#[derive(MetricsGroup, Serialize, Clone)]
#[serde(rename_all(serialize = "SCREAMING_SNAKE_CASE", deserialize = "camelCase"))]
struct Inner {
    hits_total: u64,
    #[serde(rename(serialize = "serialized_as", deserialize = "read_as"))]
    both_sides: u32,
    // Only the deserialize side: the serialized key still follows `rename_all`.
    #[serde(rename(deserialize = "ignored_when_writing"))]
    read_side_only: u32,
    #[serde(alias = "old_name", default)]
    aliased: u8,
}

// Fields in neither the metrics nor the JSON are never read: their absence is the point.
#[allow(dead_code)]
#[derive(MetricsGroup, Serialize)]
#[serde(rename = "NotInTheJson", deny_unknown_fields)]
struct Outer {
    #[serde(skip)]
    #[metric(skip)]
    started: Instant,
    #[serde(rename = "first-member")]
    first: u64,
    #[serde(rename = "nested group")]
    inner: Inner,
    maybe_inner: Option<Inner>,
    #[metric(flatten)]
    #[serde(rename = "flat")]
    flattened: Inner,
    #[metric(label = "k")]
    #[serde(rename = "Map")]
    map: HashMap<String, i64>,
    #[serde(skip_serializing)]
    hidden_metric: u32,
    #[serde(skip_deserializing)]
    not_read_back: u32,
    #[metric(skip)]
    #[serde(rename = "note\"with\\escapes\n\t\u{1}é")]
    note: String,
    #[serde(skip_serializing)]
    #[metric(skip)]
    last: Duration,
}

fn outer(seed: u64) -> Outer {
    let inner = Inner {
        hits_total: seed,
        both_sides: 2,
        read_side_only: 3,
        aliased: 4,
    };
    Outer {
        started: Instant::now(),
        first: seed,
        inner: inner.clone(),
        maybe_inner: (seed % 2 == 0).then(|| inner.clone()),
        flattened: inner,
        map: (0..seed % 5)
            .map(|i| (format!("key {i}"), i as i64 - 2))
            .collect(),
        hidden_metric: 9,
        not_read_back: 10,
        note: "n".into(),
        last: Duration::from_secs(1),
    }
}

#[test]
fn nested_groups_maps_and_skipped_fields_match_serde_json() {
    for seed in 0..8 {
        assert_same(&outer(seed));
    }
    let compact = assert_same(&outer(1));
    assert!(
        compact.starts_with(r#"{"first-member":1,"nested group":{"HITS_TOTAL":1,"serialized_as":2,"READ_SIDE_ONLY":3,"ALIASED":4},"#),
        "{compact}"
    );
    assert!(!compact.contains("hidden_metric") && !compact.contains("started"));
}

#[test]
fn serde_skipped_fields_are_still_metrics_and_serde_renames_are_not_metric_names() {
    let names = names::<Outer>();
    assert_eq!(
        names,
        [
            "first",
            "inner.hits_total",
            "inner.both_sides",
            "inner.read_side_only",
            "inner.aliased",
            "maybe_inner.hits_total",
            "maybe_inner.both_sides",
            "maybe_inner.read_side_only",
            "maybe_inner.aliased",
            "hits_total",
            "both_sides",
            "read_side_only",
            "aliased",
            "map",
            "hidden_metric",
            "not_read_back",
        ]
    );
    let mut points = Vec::new();
    outer(3).visit_metrics_into(&mut points);
    assert!(points.contains(&("hidden_metric".to_owned(), 9.0)));
}

/// Every member skipped: serde writes `{}`, as does an empty struct.
// Fields in neither the metrics nor the JSON are never read: their absence is the point.
#[allow(dead_code)]
#[derive(MetricsGroup, Serialize)]
struct AllSkipped {
    #[serde(skip)]
    a: u64,
    #[serde(skip_serializing)]
    #[metric(skip)]
    b: Instant,
}

/// The first field skipped: the next one opens the object.
// Fields in neither the metrics nor the JSON are never read: their absence is the point.
#[allow(dead_code)]
#[derive(MetricsGroup, Serialize)]
#[serde(rename_all = "kebab-case")]
struct FirstSkipped {
    #[serde(skip)]
    #[metric(skip)]
    skipped_first: Instant,
    second_field: u64,
    third_field: Option<u8>,
}

#[test]
fn skipped_members_leave_valid_objects() {
    let now = Instant::now();
    assert_eq!(assert_same(&AllSkipped { a: 1, b: now }), "{}");
    assert_eq!(
        assert_same(&FirstSkipped {
            skipped_first: now,
            second_field: 2,
            third_field: None,
        }),
        r#"{"second-field":2,"third-field":null}"#
    );
}

/// More than the derive's inlining threshold, so the out-of-line member writers are used.
// Fields in neither the metrics nor the JSON are never read: their absence is the point.
#[allow(dead_code)]
#[derive(MetricsGroup, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Wide {
    f_00: u64,
    #[serde(skip)]
    f_01: u64,
    f_02: u64,
    f_03: u64,
    #[serde(rename = "renamed")]
    f_04: u64,
    f_05: u64,
    f_06: u64,
    f_07: u64,
    f_08: u64,
    f_09: u64,
    f_10: u64,
    #[serde(skip_serializing)]
    #[metric(skip)]
    f_11: Option<Instant>,
    f_12: u64,
    f_13: u64,
    f_14: u64,
    f_15: u64,
    f_16: u64,
    f_17: Option<Inner>,
    #[metric(label = "l")]
    f_18: BTreeMap<String, u64>,
}

#[test]
fn wide_structs_follow_serde_attributes_too() {
    let mut wide = Wide {
        f_00: 1,
        f_18: BTreeMap::from([("x".into(), 1)]),
        ..Wide::default()
    };
    let compact = assert_same(&wide);
    assert!(compact.starts_with(r#"{"F00":1,"F02":0,"F03":0,"renamed":0,"#));
    wide.f_17 = Some(Inner {
        hits_total: 1,
        both_sides: 2,
        read_side_only: 3,
        aliased: 4,
    });
    assert_same(&wide);
}

/// The points a group reports, by full name, for the assertions above.
trait VisitInto {
    fn visit_metrics_into(&self, points: &mut Vec<(String, f64)>);
}

impl<T: MetricsGroup> VisitInto for T {
    fn visit_metrics_into(&self, points: &mut Vec<(String, f64)>) {
        struct Collect<'a> {
            names: Vec<String>,
            at: usize,
            points: &'a mut Vec<(String, f64)>,
        }
        impl metrics_core::Visitor for Collect<'_> {
            fn point(&mut self, _: &[metrics_core::LabelValue<'_>], value: PointValue<'_>) {
                if let PointValue::Number(value) = value {
                    self.points
                        .push((self.names[self.at].clone(), value.as_f64()));
                }
            }
            fn advance(&mut self, metrics: usize) {
                self.at += metrics;
            }
        }
        let mut collect = Collect {
            names: T::SCHEMA.metrics().map(|metric| metric.name).collect(),
            at: 0,
            points,
        };
        self.visit(&mut collect);
    }
}
