//! The compile-time check that no two metrics of a group share a Prometheus name once
//! mapped (`a.b` and `a_b`; a counter `jobs`, whose samples are `jobs_total`, and a gauge
//! `jobs_total`), so such a group does not compile and the encoder never meets one. The
//! derive judges the fields it knows to be metrics itself; for a group with a field that may
//! be a nested group, it also calls [`prometheus_name_collision`] in a `const` item, which
//! sees the whole tree.
//!
//! Names are rendered by `metrics_rules::prometheus`, the encoder's own rules. The compiler's
//! interpreter takes milliseconds to render a name, so the derive renders each metric's
//! family name where no group path can change it (`GroupSchema::with_prometheus_names`) and
//! this joins it to the path by hashing the path and then the name; the other names are
//! rendered here. The hashes are sorted, and only pairs whose hashes match are rendered
//! again and compared whole (BENCHMARKS.md, "Compile time").

use metrics_rules::prometheus::{
    family_name, path_prefix, sample_name, sample_suffix, PrometheusName,
};

use crate::schema::build::{Message, PartedName};
use crate::schema::{MetricDescriptor, NestedGroup, SchemaField};

/// When two metrics of a group whose fields are `fields` and whose metric count is `N` have
/// the same Prometheus family name (OpenMetrics) or sample name (and text format family
/// name), a message naming both and that name; empty otherwise.
///
/// `prometheus_names` are the fields' relocatable family names, as the derive renders them
/// (`GroupSchema::with_prometheus_names`).
pub const fn prometheus_name_collision<const N: usize>(
    fields: &[SchemaField],
    prometheus_names: &[&str],
) -> Message {
    let mut families = [(0u64, 0usize); N];
    let mut samples = [(0u64, 0usize); N];
    let mut hashes = Hashes {
        families: &mut families,
        samples: &mut samples,
        count: 0,
    };
    hash_names(
        fields,
        prometheus_names,
        PartedName::EMPTY,
        FNV_OFFSET,
        &mut hashes,
    );
    let message = first_clash(fields, &mut families);
    if !message.is_empty() {
        return message;
    }
    first_clash(fields, &mut samples)
}

/// The message for the first pair of metrics whose names (by their `(hash, metric index)`
/// in `hashes`) are the same. Sorting keeps a wide group's check near-linear: comparing
/// every pair of 200 metrics cost more compile time than the rest of the derive.
const fn first_clash(fields: &[SchemaField], hashes: &mut [(u64, usize)]) -> Message {
    sort(hashes);
    let mut i = 0;
    while i < hashes.len() {
        let mut j = i + 1;
        while j < hashes.len() && hashes[j].0 == hashes[i].0 {
            let (a, b) = (hashes[i].1, hashes[j].1);
            let message = if a < b {
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

/// Heapsort by hash: in place, and `const`.
const fn sort(v: &mut [(u64, usize)]) {
    let mut start = v.len() / 2;
    while start > 0 {
        start -= 1;
        sift_down(v, start, v.len());
    }
    let mut end = v.len();
    while end > 1 {
        end -= 1;
        swap(v, 0, end);
        sift_down(v, 0, end);
    }
}

const fn sift_down(v: &mut [(u64, usize)], mut root: usize, end: usize) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && v[child].0 < v[child + 1].0 {
            child += 1;
        }
        if v[root].0 >= v[child].0 {
            return;
        }
        swap(v, root, child);
        root = child;
    }
}

/// `<[T]>::swap`, which is `const` only from Rust 1.85.
const fn swap(v: &mut [(u64, usize)], a: usize, b: usize) {
    let first = v[a];
    v[a] = v[b];
    v[b] = first;
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

/// FNV-1a, continued from `hash` over `bytes`: cheap to evaluate at compile time, and a
/// clash only costs a second look. Streaming, so a sample name's hash is its family's
/// continued over `_total`, without rendering the sample name.
const fn hash(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// Appends the `(hash, metric index)` of the family and sample names of every metric under
/// `fields`, whose full names start with `prefix` (Prometheus: `prefix_hash` is the hash of
/// its `path_prefix`), in schema order. `names` are the fields' relocatable family names,
/// which only need joining to the prefix; the others are rendered whole.
const fn hash_names(
    fields: &[SchemaField],
    names: &[&str],
    prefix: PartedName,
    prefix_hash: u64,
    out: &mut Hashes,
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
                let sample_hash = hash(family_hash, sample_suffix(kind).as_bytes());
                out.families[out.count] = (family_hash, out.count);
                out.samples[out.count] = (sample_hash, out.count);
                out.count += 1;
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

/// The hashes of a group's metrics' names, by metric index.
struct Hashes<'a> {
    families: &'a mut [(u64, usize)],
    samples: &'a mut [(u64, usize)],
    count: usize,
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

    fn check<const N: usize>(fields: &[SchemaField]) -> String {
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
            check::<3>(&nested),
            "metrics `a_b` and `a.b_seconds` both map to the Prometheus name `a_b_seconds`, so they cannot both be exposed; give one another name with `#[metric(rename = \"...\")]`"
        );
        assert_eq!(check::<2>(INNER.fields), "");
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
        assert_eq!(check::<64>(&fields), "");
        fields[50] = metric("m_07", MetricKind::Gauge, "");
        assert!(check::<64>(&fields).starts_with("metrics `m.07` and `m_07` both map"));
    }
}
