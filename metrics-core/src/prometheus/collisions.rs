//! The compile-time check that no two metrics of a group share a Prometheus name once
//! mapped (`a.b` and `a_b`; a counter `jobs`, whose samples are `jobs_total`, and a gauge
//! `jobs_total`): the derive calls [`prometheus_name_collision`] in a `const` item of every
//! group, so such a group does not compile, and the encoder never meets one.
//!
//! Names are rendered by `metrics_rules::prometheus`, the encoder's own rules. A wide group
//! must stay cheap to compile, so each metric's two names are rendered once and hashed, and
//! only pairs whose hashes match are rendered again and compared whole.

use metrics_rules::prometheus::{family_name, sample_name, PrometheusName};

use crate::schema::build::{Message, PartedName};
use crate::schema::{MetricDescriptor, NestedGroup, SchemaField};

/// When two metrics of a group whose fields are `fields` and whose metric count is `N` have
/// the same Prometheus family name (OpenMetrics) or sample name (and text format family
/// name), a message naming both and that name; empty otherwise.
pub const fn prometheus_name_collision<const N: usize>(fields: &[SchemaField]) -> Message {
    let mut hashes = [(0u64, 0u64); N];
    let mut count = 0;
    hash_names(fields, PartedName::EMPTY, &mut hashes, &mut count);
    let mut a = 0;
    while a < N {
        let mut b = a + 1;
        while b < N {
            if hashes[a].0 == hashes[b].0 || hashes[a].1 == hashes[b].1 {
                let message = collision(fields, a, b);
                if !message.is_empty() {
                    return message;
                }
            }
            b += 1;
        }
        a += 1;
    }
    Message::EMPTY
}

/// The message for metrics `a` and `b` (in schema order), if their names really are the
/// same (their hashes are).
const fn collision(fields: &[SchemaField], a: usize, b: usize) -> Message {
    let (Some((a_path, a_metric)), Some((b_path, b_metric))) = (nth(fields, a), nth(fields, b))
    else {
        return Message::EMPTY;
    };
    // The same dotted name is the derive's own error (`duplicate_name`), reported there.
    if a_path.eq(&b_path) {
        return Message::EMPTY;
    }
    let (a_family, a_sample) = names(&a_path, &a_metric);
    let (b_family, b_sample) = names(&b_path, &b_metric);
    let same = if a_family.eq(&b_family) {
        a_family
    } else if a_sample.eq(&b_sample) {
        a_sample
    } else {
        return Message::EMPTY;
    };
    Message::EMPTY
        .push("metrics `")
        .push_name(&a_path)
        .push("` and `")
        .push_name(&b_path)
        .push("` both map to the Prometheus name `")
        .push(same.as_str())
        .push("`, so they cannot both be exposed; give one another name with `#[metric(rename = \"...\")]`")
}

/// A metric's family and sample names.
const fn names(path: &PartedName, metric: &MetricDescriptor) -> (PrometheusName, PrometheusName) {
    let kind = metric.kind.as_str();
    let family = family_name(path.parts.split_at(path.len).0, kind, metric.unit);
    (family, sample_name(family, kind))
}

/// FNV-1a: cheap to evaluate at compile time, and a clash only costs a second look.
const fn hash(name: &PrometheusName) -> u64 {
    let bytes = name.as_bytes();
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

/// Appends the hashes of the family and sample names of every metric under `fields`,
/// whose full names start with `prefix`, in schema order.
const fn hash_names(
    fields: &[SchemaField],
    prefix: PartedName,
    out: &mut [(u64, u64)],
    count: &mut usize,
) {
    let mut i = 0;
    while i < fields.len() {
        match fields[i] {
            SchemaField::Metric(metric) => {
                let (family, sample) = names(&prefix.with(metric.name, ""), &metric);
                out[*count] = (hash(&family), hash(&sample));
                *count += 1;
            }
            SchemaField::Group(NestedGroup { name, schema }) => {
                let inner = match name {
                    Some(name) => prefix.with(name, ""),
                    None => prefix,
                };
                hash_names(schema.fields, inner, out, count);
            }
        }
        i += 1;
    }
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
                kind,
                unit,
                description: "",
                label: None,
            },
            Shape::Value(ValueType::U64),
        )
    }

    fn check<const N: usize>(fields: &[SchemaField]) -> String {
        prometheus_name_collision::<N>(fields).as_str().to_owned()
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
            check::<2>(&[metric("a.b", Gauge, ""), metric("a_b", Gauge, "")]),
            "metrics `a.b` and `a_b` both map to the Prometheus name `a_b`, so they cannot both be exposed; give one another name with `#[metric(rename = \"...\")]`"
        );
        // The sample names collide (`jobs_total`) though the families do not.
        assert!(
            check::<2>(&[metric("jobs", Counter, ""), metric("jobs_total", Gauge, "")])
                .contains("`jobs_total`")
        );
        // OpenMetrics' families collide (`jobs`) though the samples do not.
        assert!(check::<2>(&[
            metric("jobs_total", Counter, ""),
            metric("jobs", UpDownCounter, "")
        ])
        .contains("`jobs`"));
        // The same dotted name twice is the derive's `duplicate_name` error, not this one.
        assert_eq!(
            check::<2>(&[metric("a", Gauge, ""), metric("a", Gauge, "")]),
            ""
        );
        // Units are part of the name.
        assert!(check::<2>(&[
            metric("wait", Gauge, "s"),
            metric("wait_seconds", Gauge, "")
        ])
        .contains("`wait_seconds`"));
        assert_eq!(
            check::<2>(&[metric("wait", Gauge, "s"), metric("wait", Gauge, "ms")]),
            ""
        );
        // Through a nested group: `a.b_seconds` against `a_b` in seconds.
        let nested = [
            metric("a_b", Gauge, "s"),
            field(
                FieldSpec {
                    name: "a",
                    kind: Gauge,
                    unit: "",
                    description: "",
                    label: None,
                },
                Shape::Group(&INNER),
            ),
        ];
        assert_eq!(
            check::<3>(&nested),
            "metrics `a_b` and `a.b_seconds` both map to the Prometheus name `a_b_seconds`, so they cannot both be exposed; give one another name with `#[metric(rename = \"...\")]`"
        );
        assert_eq!(check::<2>(INNER.fields), "");
    }
}
