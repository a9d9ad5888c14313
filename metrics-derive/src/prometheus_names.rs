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

use metrics_rules::prometheus::{family_name, relocatable_family_name, sample_name};
use proc_macro2::Span;

use crate::ast::{Container, Field, Role};
use crate::attr::{Keyword, Kind};
use crate::errors::Errors;

/// Whether the field is a metric whatever its type: declared one by its keys, or a std value
/// type.
pub(crate) fn surely_metric(field: &Field) -> bool {
    match field.role {
        Role::Metric(_) => true,
        Role::MetricOrGroup => field.std_value().is_some(),
        Role::FlattenedGroup { .. } | Role::Skipped | Role::Time { .. } => false,
    }
}

/// Whether some field may hold a nested group, whose names only the compiler sees.
pub(crate) fn may_nest(container: &Container) -> bool {
    container.fields.iter().any(|field| {
        !surely_metric(field) && !matches!(field.role, Role::Skipped | Role::Time { .. })
    })
}

/// Reports, at the later field, two metric fields whose Prometheus names are the same, with
/// "first defined here" at the earlier one. Fields with the same dotted name are left to
/// `check::names_are_unique`.
pub(crate) fn prometheus_names_are_unique(container: &Container, errors: &mut Errors) {
    // Each name a metric is exposed under (family and sample), with the metric's full name.
    let mut seen: HashMap<String, (String, Span)> = HashMap::new();
    for field in container.fields.iter().filter(|field| surely_metric(field)) {
        let name = container.metric_name(field);
        let (kind, unit) = kind_and_unit(field);
        let family = family_name(&[&name], kind, &unit);
        let sample = sample_name(family, kind);
        let span = field.name_span();
        for exposed in [family.as_str(), sample.as_str()] {
            match seen.get(exposed) {
                Some((first, first_span)) if *first != name => {
                    errors.at(
                        span,
                        format!(
                            "metrics `{first}` and `{name}` both map to the Prometheus name `{exposed}`, so they cannot both be exposed; give one another name with `#[metric(rename = \"...\")]`"
                        ),
                    );
                    errors.first_defined_here(*first_span);
                    break;
                }
                _ => {
                    seen.entry(exposed.to_owned())
                        .or_insert((name.clone(), span));
                }
            }
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
        .map(|field| match field.role {
            Role::FlattenedGroup { .. } | Role::Skipped | Role::Time { .. } => String::new(),
            Role::Metric(_) | Role::MetricOrGroup => {
                let (kind, unit) = kind_and_unit(field);
                relocatable_family_name(&container.metric_name(field), kind, &unit)
                    .as_str()
                    .to_owned()
            }
        })
        .collect()
}

/// The kind keyword and unit of a field, were it a metric.
fn kind_and_unit(field: &Field) -> (&'static str, String) {
    match &field.role {
        Role::Metric(keys) => (
            keys.kind
                .as_ref()
                .map_or(Kind::Gauge, |kind| kind.value)
                .keyword(),
            keys.unit
                .as_ref()
                .map(|unit| unit.value.value())
                .unwrap_or_default(),
        ),
        _ => (Kind::Gauge.keyword(), String::new()),
    }
}
