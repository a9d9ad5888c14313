//! No two metrics of a group may share a Prometheus name once mapped (`a.b` and `a_b`; a
//! counter `jobs`, whose samples are `jobs_total`, and a gauge `jobs_total`).
//!
//! The derive judges the fields it knows to be metrics here, with the rules of
//! `metrics_rules::prometheus` that the encoder uses, and points at the field. Names that
//! come from nested groups only the compiler knows: for a struct with a field that may be a
//! group, `expand` also emits the `const` check of the whole schema tree
//! (`metrics_core::__private::prometheus_name_collision`). That check is evaluated by the
//! compiler's interpreter, which takes milliseconds to render one name, so a flat group is
//! judged here alone, and every group carries its metrics' names rendered here
//! ([`relocatable_names`]) for the checks of the groups that nest it.

use std::collections::HashMap;

use metrics_rules::prometheus::{
    claimed_suffixes, family_name, is_histogram, relocatable_family_name, reserved_label_key,
    with_suffix,
};
use metrics_rules::HISTOGRAM;
use proc_macro2::Span;

use crate::ast::{Container, Field, Role};
use crate::attr::{Keyword, Kind};
use crate::errors::Errors;

/// Whether some field may hold a nested group, a metric of a kind only the compiler knows,
/// or a histogram whose attribute keys its key type names (a `LabelSet`, which may say
/// `le`): then the `const` check runs.
pub(crate) fn needs_const_check(container: &Container) -> bool {
    container
        .fields
        .iter()
        .any(|field| match known_kind(field) {
            Some(kind) => is_histogram(kind) && !has_label_key(field),
            None => !matches!(field.role, Role::Skipped | Role::Time { .. }),
        })
}

/// Whether the field names its attribute keys with `label`.
fn has_label_key(field: &Field) -> bool {
    matches!(&field.role, Role::Metric(keys) if keys.label.is_some())
}

/// Reports, at the later field, two metric fields that claim the same Prometheus name (its
/// family, its samples, a histogram's series: `claimed_suffixes`), with "first defined
/// here" at the earlier one; and an attribute key Prometheus reserves on a histogram
/// (`le`). Fields with the same dotted name are left to `check::names_are_unique`.
pub(crate) fn prometheus_names_are_unique(container: &Container, errors: &mut Errors) {
    // Each name a metric claims, with the metric's full name.
    let mut seen: HashMap<String, (String, Span)> = HashMap::new();
    for field in &container.fields {
        let Some(kind) = known_kind(field) else {
            continue;
        };
        let name = container.metric_name(field);
        let family = family_name(&[&name], kind, &unit(field));
        let span = field.name_span();
        reserved_label_keys(field, &name, kind, errors);
        for suffix in claimed_suffixes(kind) {
            let claimed = with_suffix(family, suffix);
            let claimed = claimed.as_str();
            match seen.get(claimed) {
                Some((first, first_span)) if *first != name => {
                    errors.at(
                        span,
                        format!(
                            "metrics `{first}` and `{name}` both map to the Prometheus name `{claimed}`, so they cannot both be exposed; give one another name with `#[metric(rename = \"...\")]`"
                        ),
                    );
                    errors.first_defined_here(*first_span);
                    break;
                }
                _ => {
                    seen.entry(claimed.to_owned())
                        .or_insert((name.clone(), span));
                }
            }
        }
    }
}

/// Reports each `label` key of a histogram field that Prometheus reserves (`le`).
fn reserved_label_keys(field: &Field, name: &str, kind: &str, errors: &mut Errors) {
    let Role::Metric(keys) = &field.role else {
        return;
    };
    let Some(label) = &keys.label else {
        return;
    };
    for key in &label.value.keys {
        if reserved_label_key(&key.value(), kind) {
            errors.at(
                key.span(),
                format!(
                    "histogram `{name}` has the attribute key `{}`, which Prometheus reserves for a histogram's bucket bounds; name the attribute otherwise",
                    key.value()
                ),
            );
        }
    }
}

/// Per field of `fields` (the fields in the schema, in order), its metric's family name when
/// no group path can change it (`relocatable_family_name`), else `""`: what the `const`
/// check of a group nesting this one joins to its path instead of rendering the name, which
/// the compiler's interpreter is slow at.
pub(crate) fn relocatable_names(container: &Container, fields: &[&Field]) -> Vec<String> {
    fields
        .iter()
        .map(|field| match known_kind(field) {
            Some(kind) => {
                relocatable_family_name(&container.metric_name(field), kind, &unit(field))
                    .as_str()
                    .to_owned()
            }
            None => String::new(),
        })
        .collect()
}

/// The kind keyword of a metric field when its attributes or its std value type say it:
/// a kind key, `buckets` (a histogram), or a std value without a kind (a gauge). `None` for
/// other fields, and for metrics whose type gives the kind (a `Histogram`, a map): those the
/// `const` check judges.
fn known_kind(field: &Field) -> Option<&'static str> {
    match &field.role {
        Role::Metric(keys) => match (&keys.kind, &keys.buckets) {
            (Some(kind), _) => Some(kind.value.keyword()),
            (None, Some(_)) => Some(HISTOGRAM),
            (None, None) => field.std_value().map(|_| Kind::Gauge.keyword()),
        },
        Role::MetricOrGroup => field.std_value().map(|_| Kind::Gauge.keyword()),
        Role::FlattenedGroup { .. } | Role::Skipped | Role::Time { .. } => None,
    }
}

/// A metric field's unit, empty when it has none.
fn unit(field: &Field) -> String {
    match &field.role {
        Role::Metric(keys) => keys
            .unit
            .as_ref()
            .map(|unit| unit.value.value())
            .unwrap_or_default(),
        _ => String::new(),
    }
}
