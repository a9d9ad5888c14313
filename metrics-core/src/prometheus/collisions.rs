//! The compile-time check that no two metrics of a group share a Prometheus name once
//! mapped (`a.b` and `a_b`; a counter `jobs`, whose samples are `jobs_total`, and a gauge
//! `jobs_total`; a histogram `latency` in `s` and a gauge `latency_seconds_count`), and that
//! no histogram has the attribute key `le`, so such a group does not compile and the encoder
//! never meets one. The derive judges the fields it knows to be metrics of a known kind
//! itself; for a group with a field that may be a nested group or whose type gives its kind,
//! it also calls [`prometheus_name_collision`] in a `const` item, which sees the whole tree.
//!
//! Names are rendered by `metrics_rules::prometheus`, the encoder's own rules. The compiler's
//! interpreter takes milliseconds to render a name, so the derive renders each metric's
//! family name where no group path can change it (`GroupSchema::with_prometheus_names`) and
//! this joins it to the path by hashing the path, then the name, then each suffix the metric
//! claims; the other names are rendered here. The hashes are sorted, and only pairs whose
//! hashes match are rendered again and compared whole (BENCHMARKS.md, "Compile time").

use metrics_rules::prometheus::{
    claimed_suffixes, family_name, path_prefix, reserved_label_key, with_suffix, PrometheusName,
    MAX_CLAIMED_NAMES,
};

use crate::schema::build::{metric_count, Message, PartedName};
use crate::schema::{MetricDescriptor, NestedGroup, SchemaField};

/// The `N` [`prometheus_name_collision`] needs for a group whose fields are `fields`: room
/// for every name each metric may claim.
pub const fn claims_capacity(fields: &[SchemaField]) -> usize {
    MAX_CLAIMED_NAMES * metric_count(fields)
}

/// When two metrics of a group whose fields are `fields` claim the same Prometheus name
/// (each claims its family name, its samples' name and a histogram's `_bucket`, `_sum` and
/// `_count`: `metrics_rules::prometheus::claimed_suffixes`), or a histogram has an attribute
/// key Prometheus reserves for bucket bounds (`le`), a message naming them; empty otherwise.
/// `N` is [`claims_capacity`]`(fields)`.
///
/// `prometheus_names` are the fields' relocatable family names, as the derive renders them
/// (`GroupSchema::with_prometheus_names`).
pub const fn prometheus_name_collision<const N: usize>(
    fields: &[SchemaField],
    prometheus_names: &[&str],
) -> Message {
    let mut claims = [Claim::EMPTY; N];
    let mut found = Found {
        claims: &mut claims,
        count: 0,
        metrics: 0,
        reserved_label: None,
    };
    hash_names(
        fields,
        prometheus_names,
        PartedName::EMPTY,
        FNV_OFFSET,
        &mut found,
    );
    if let Some((metric, key)) = found.reserved_label {
        return reserved_label(fields, metric, key);
    }
    let count = found.count;
    first_clash(fields, &mut claims, count)
}

/// One name a metric claims: its hash, the metric's index in schema order, and which of
/// its kind's `claimed_suffixes` follows its family name.
#[derive(Clone, Copy)]
struct Claim {
    hash: u64,
    metric: usize,
    suffix: usize,
}

impl Claim {
    const EMPTY: Claim = Claim {
        hash: 0,
        metric: 0,
        suffix: 0,
    };
}

/// The message for the first pair of metrics whose claimed names (the first `len` of
/// `claims`) are the same. Sorting keeps a wide group's check near-linear: comparing every
/// pair of 200 metrics cost more compile time than the rest of the derive.
const fn first_clash(fields: &[SchemaField], claims: &mut [Claim], len: usize) -> Message {
    sort(claims, len);
    let mut i = 0;
    while i < len {
        let mut j = i + 1;
        while j < len && claims[j].hash == claims[i].hash {
            let (a, b) = (claims[i], claims[j]);
            let message = if a.metric < b.metric {
                collision(fields, a, b)
            } else {
                collision(fields, b, a)
            };
            if !message.is_empty() {
                return message;
            }
            j += 1;
        }
        i += 1;
    }
    Message::EMPTY
}

/// Heapsort of the first `len` claims by hash: in place, and `const`.
const fn sort(v: &mut [Claim], len: usize) {
    let mut start = len / 2;
    while start > 0 {
        start -= 1;
        sift_down(v, start, len);
    }
    let mut end = len;
    while end > 1 {
        end -= 1;
        swap(v, 0, end);
        sift_down(v, 0, end);
    }
}

const fn sift_down(v: &mut [Claim], mut root: usize, end: usize) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && v[child].hash < v[child + 1].hash {
            child += 1;
        }
        if v[root].hash >= v[child].hash {
            return;
        }
        swap(v, root, child);
        root = child;
    }
}

/// `<[T]>::swap`, which is `const` only from Rust 1.85.
const fn swap(v: &mut [Claim], a: usize, b: usize) {
    let first = v[a];
    v[a] = v[b];
    v[b] = first;
}

/// The message for the claims `a` and `b` (`a`'s metric first in schema order), if their
/// names really are the same (their hashes are).
const fn collision(fields: &[SchemaField], a: Claim, b: Claim) -> Message {
    // One metric's names differ from each other.
    if a.metric == b.metric {
        return Message::EMPTY;
    }
    let (Some((a_path, a_metric)), Some((b_path, b_metric))) =
        (nth(fields, a.metric), nth(fields, b.metric))
    else {
        return Message::EMPTY;
    };
    // The same dotted name is the derive's own error (`duplicate_name`), reported there.
    if a_path.eq(&b_path) {
        return Message::EMPTY;
    }
    let a_name = claimed_name(&a_path, &a_metric, a.suffix);
    if !a_name.eq(&claimed_name(&b_path, &b_metric, b.suffix)) {
        return Message::EMPTY;
    }
    Message::EMPTY
        .push("metrics `")
        .push_name(&a_path)
        .push("` and `")
        .push_name(&b_path)
        .push("` both map to the Prometheus name `")
        .push(a_name.as_str())
        .push("`, so they cannot both be exposed; give one another name with `#[metric(rename = \"...\")]`")
}

/// The message for histogram `metric` whose attribute key `key` Prometheus reserves.
const fn reserved_label(fields: &[SchemaField], metric: usize, key: &str) -> Message {
    let Some((path, _)) = nth(fields, metric) else {
        return Message::EMPTY;
    };
    Message::EMPTY
        .push("histogram `")
        .push_name(&path)
        .push("` has the attribute key `")
        .push(key)
        .push("`, which Prometheus reserves for a histogram's bucket bounds; name the attribute otherwise")
}

/// A metric's claimed name number `suffix` (of its kind's `claimed_suffixes`).
const fn claimed_name(
    path: &PartedName,
    metric: &MetricDescriptor,
    suffix: usize,
) -> PrometheusName {
    let kind = metric.kind.as_str();
    let family = family_name(path.parts.split_at(path.len).0, kind, metric.unit);
    with_suffix(family, claimed_suffixes(kind)[suffix])
}

/// FNV-1a, continued from `hash` over `bytes`: cheap to evaluate at compile time, and a
/// clash only costs a second look. Streaming, so a claimed name's hash is its family's
/// continued over the suffix, without rendering the name.
const fn hash(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Appends the claims of every metric under `fields`, whose full names start with `prefix`
/// (Prometheus: `prefix_hash` is the hash of its `path_prefix`), in schema order, and notes
/// the first histogram with a reserved attribute key. `names` are the fields' relocatable
/// family names, which only need joining to the prefix; the others are rendered whole.
const fn hash_names(
    fields: &[SchemaField],
    names: &[&str],
    prefix: PartedName,
    prefix_hash: u64,
    out: &mut Found,
) {
    let mut i = 0;
    while i < fields.len() {
        match fields[i] {
            SchemaField::Metric(metric) => {
                let kind = metric.kind.as_str();
                let family_hash = if i < names.len() && !names[i].is_empty() {
                    hash(prefix_hash, names[i].as_bytes())
                } else {
                    let path = prefix.with(metric.name, "");
                    let family = family_name(path.parts.split_at(path.len).0, kind, metric.unit);
                    hash(FNV_OFFSET, family.as_bytes())
                };
                let suffixes = claimed_suffixes(kind);
                let mut suffix = 0;
                while suffix < suffixes.len() && out.count < out.claims.len() {
                    out.claims[out.count] = Claim {
                        hash: hash(family_hash, suffixes[suffix].as_bytes()),
                        metric: out.metrics,
                        suffix,
                    };
                    out.count += 1;
                    suffix += 1;
                }
                let mut label = 0;
                while label < metric.labels.len() && out.reserved_label.is_none() {
                    if reserved_label_key(metric.labels[label], kind) {
                        out.reserved_label = Some((out.metrics, metric.labels[label]));
                    }
                    label += 1;
                }
                out.metrics += 1;
            }
            SchemaField::Group(NestedGroup { name, schema }) => {
                let (inner, inner_hash) = match name {
                    Some(name) => {
                        let inner = prefix.with(name, "");
                        let path = path_prefix(inner.parts.split_at(inner.len).0);
                        (inner, hash(FNV_OFFSET, path.as_bytes()))
                    }
                    None => (prefix, prefix_hash),
                };
                hash_names(
                    schema.fields,
                    schema.prometheus_names,
                    inner,
                    inner_hash,
                    out,
                );
            }
        }
        i += 1;
    }
}

/// What the walk over a group's metrics found.
struct Found<'a> {
    /// The names the metrics claim, the first `count` filled.
    claims: &'a mut [Claim],
    count: usize,
    /// Metrics seen so far: the next one's index.
    metrics: usize,
    /// The first histogram (by index) with an attribute key Prometheus reserves, and the key.
    reserved_label: Option<(usize, &'static str)>,
}

/// The full name and descriptor of metric `index` (in schema order) under `fields`.
const fn nth(fields: &[SchemaField], index: usize) -> Option<(PartedName, MetricDescriptor)> {
    let mut seen = 0;
    nth_under(fields, PartedName::EMPTY, index, &mut seen)
}

const fn nth_under(
    fields: &[SchemaField],
    prefix: PartedName,
    index: usize,
    seen: &mut usize,
) -> Option<(PartedName, MetricDescriptor)> {
    let mut i = 0;
    while i < fields.len() {
        match fields[i] {
            SchemaField::Metric(metric) => {
                if *seen == index {
                    return Some((prefix.with(metric.name, ""), metric));
                }
                *seen += 1;
            }
            SchemaField::Group(NestedGroup { name, schema }) => {
                if index < *seen + schema.metric_count {
                    let inner = match name {
                        Some(name) => prefix.with(name, ""),
                        None => prefix,
                    };
                    return nth_under(schema.fields, inner, index, seen);
                }
                *seen += schema.metric_count;
            }
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Shape;
    use crate::schema::build::{field, group, FieldSpec};
    use crate::schema::{MetricKind, ValueType};

    const fn metric(name: &'static str, kind: MetricKind, unit: &'static str) -> SchemaField {
        field(
            FieldSpec {
                name,
                kind: Some(kind),
                unit,
                description: "",
                labels: &[],
                buckets: &[],
            },
            Shape::Value(ValueType::U64),
        )
    }

    /// The check's message; `N` must be at least `claims_capacity(fields)`.
    fn check<const N: usize>(fields: &[SchemaField]) -> String {
        assert!(claims_capacity(fields) <= N);
        prometheus_name_collision::<N>(fields, &[])
            .as_str()
            .to_owned()
    }

    static INNER: crate::schema::GroupSchema = group(
        "Inner",
        &[
            metric("b_seconds", MetricKind::Gauge, ""),
            metric("c", MetricKind::Counter, ""),
        ],
    );

    #[test]
    fn collisions_are_found_and_named() {
        use MetricKind::{Counter, Gauge, UpDownCounter};
        assert_eq!(
            check::<8>(&[metric("a.b", Gauge, ""), metric("a_b", Gauge, "")]),
            "metrics `a.b` and `a_b` both map to the Prometheus name `a_b`, so they cannot both be exposed; give one another name with `#[metric(rename = \"...\")]`"
        );
        // The sample names collide (`jobs_total`) though the families do not.
        assert!(
            check::<8>(&[metric("jobs", Counter, ""), metric("jobs_total", Gauge, "")])
                .contains("`jobs_total`")
        );
        // OpenMetrics' families collide (`jobs`) though the samples do not.
        assert!(check::<8>(&[
            metric("jobs_total", Counter, ""),
            metric("jobs", UpDownCounter, "")
        ])
        .contains("`jobs`"));
        // The same dotted name twice is the derive's `duplicate_name` error, not this one.
        assert_eq!(
            check::<8>(&[metric("a", Gauge, ""), metric("a", Gauge, "")]),
            ""
        );
        // Units are part of the name.
        assert!(check::<8>(&[
            metric("wait", Gauge, "s"),
            metric("wait_seconds", Gauge, "")
        ])
        .contains("`wait_seconds`"));
        assert_eq!(
            check::<8>(&[metric("wait", Gauge, "s"), metric("wait", Gauge, "ms")]),
            ""
        );
        // Through a nested group: `a.b_seconds` against `a_b` in seconds.
        let nested = [
            metric("a_b", Gauge, "s"),
            field(
                FieldSpec {
                    name: "a",
                    kind: None,
                    unit: "",
                    description: "",
                    labels: &[],
                    buckets: &[],
                },
                Shape::Group(&INNER),
            ),
        ];
        assert_eq!(
            check::<12>(&nested),
            "metrics `a_b` and `a.b_seconds` both map to the Prometheus name `a_b_seconds`, so they cannot both be exposed; give one another name with `#[metric(rename = \"...\")]`"
        );
        assert_eq!(check::<8>(INNER.fields), "");
    }

    const fn labeled(
        name: &'static str,
        kind: MetricKind,
        labels: &'static [&'static str],
    ) -> SchemaField {
        field(
            FieldSpec {
                name,
                kind: Some(kind),
                unit: "",
                description: "",
                labels: &[],
                buckets: &[],
            },
            Shape::Map(
                ValueType::U64,
                crate::field::MapKeys {
                    arity: labels.len(),
                    names: labels,
                },
            ),
        )
    }

    static HISTOGRAMS: crate::schema::GroupSchema = group(
        "Histograms",
        &[metric("latency", MetricKind::Histogram, "s")],
    );

    /// A histogram claims its family and its three series; each of them taken by another
    /// metric (of any kind, directly or through a nested group) is a collision.
    #[test]
    fn histogram_series_are_claimed() {
        use MetricKind::{Counter, ExponentialHistogram, Gauge, Histogram};
        assert_eq!(
            check::<8>(&[
                metric("latency", Histogram, "s"),
                metric("latency_seconds_count", Gauge, "")
            ]),
            "metrics `latency` and `latency_seconds_count` both map to the Prometheus name `latency_seconds_count`, so they cannot both be exposed; give one another name with `#[metric(rename = \"...\")]`"
        );
        for (name, kind, unit, clash) in [
            ("latency_seconds_sum", Gauge, "", "latency_seconds_sum"),
            (
                "latency.seconds.bucket",
                Gauge,
                "",
                "latency_seconds_bucket",
            ),
            // A counter's samples: `latency_seconds_count` + `_total` is not taken, but
            // its family `latency_seconds_count` is.
            (
                "latency_seconds_count_total",
                Counter,
                "",
                "latency_seconds_count",
            ),
            (
                "latency_seconds",
                ExponentialHistogram,
                "",
                "latency_seconds",
            ),
            // Two histograms: one's family is the other's `_count`.
            (
                "latency_seconds_count",
                Histogram,
                "",
                "latency_seconds_count",
            ),
        ] {
            let message =
                check::<8>(&[metric("latency", Histogram, "s"), metric(name, kind, unit)]);
            assert!(message.contains(&format!("`{clash}`")), "{name}: {message}");
        }
        // Not claimed: the histogram's names in another unit, or a suffix of no series.
        for (name, unit) in [("latency_count", "ms"), ("latency_seconds_max", "")] {
            assert_eq!(
                check::<8>(&[metric("latency", Histogram, "s"), metric(name, Gauge, unit)]),
                ""
            );
        }
        // Through a nested group: `stage.latency_seconds_bucket` is claimed by histogram
        // `latency` of the group nested as `stage`.
        let nested = [
            metric("stage_latency_seconds_bucket", Gauge, ""),
            field(
                FieldSpec {
                    name: "stage",
                    kind: None,
                    unit: "",
                    description: "",
                    labels: &[],
                    buckets: &[],
                },
                Shape::Group(&HISTOGRAMS),
            ),
        ];
        assert!(check::<8>(&nested).starts_with(
            "metrics `stage_latency_seconds_bucket` and `stage.latency` both map to the Prometheus name `stage_latency_seconds_bucket`"
        ));
        // A counter's `_total` samples against another counter's.
        assert!(check::<8>(&[
            metric("jobs.total", Counter, ""),
            metric("jobs", Counter, "")
        ])
        .contains("`jobs"));
    }

    #[test]
    fn le_is_refused_on_histograms() {
        use MetricKind::{Gauge, Histogram};
        assert_eq!(
            check::<8>(&[labeled("latency", Histogram, &["route", "le"])]),
            "histogram `latency` has the attribute key `le`, which Prometheus reserves for a histogram's bucket bounds; name the attribute otherwise"
        );
        assert_eq!(check::<8>(&[labeled("depth", Gauge, &["le"])]), "");
        assert_eq!(check::<8>(&[labeled("latency", Histogram, &["level"])]), "");
    }

    #[test]
    fn a_collision_anywhere_in_a_wide_group_is_found() {
        let names: Vec<&'static str> = (0..64)
            .map(|i| &*Box::leak(format!("m.{i:02}").into_boxed_str()))
            .collect();
        let mut fields: Vec<SchemaField> = names
            .iter()
            .map(|&name| metric(name, MetricKind::Gauge, ""))
            .collect();
        assert_eq!(check::<256>(&fields), "");
        fields[50] = metric("m_07", MetricKind::Gauge, "");
        assert!(check::<256>(&fields).starts_with("metrics `m.07` and `m_07` both map"));
    }
}
