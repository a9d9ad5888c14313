//! Rules judged from the tokens, one function per rule.
//!
//! Conflicting keys cannot reach this stage (the model holds one role per field). Rules that
//! depend on a field's type (is it a group, a map, a signed integer?) cannot be judged from
//! tokens; `expand` emits `const` checks for those.

use std::collections::HashMap;

use metrics_rules::{
    check_buckets, check_label_key, check_name, check_unit, prometheus_spelling, NameProblem,
    MAX_LABELS, MAX_NAME_LEN, NAME_PUNCTUATION,
};
use proc_macro2::Span;

use syn::spanned::Spanned;

use crate::ast::{type_text, Container, Field, Role, Signed};
use crate::attr::{Keyword, Kind, MetricKeys, RoleKey};
use crate::errors::Errors;

pub(crate) fn check(container: &Container, errors: &mut Errors) {
    for field in &container.fields {
        if let Role::Metric(keys) = &field.role {
            counters_are_unsigned(field, keys, errors);
            labels_only_on_maps(field, keys, errors);
            no_unit_on_bool(field, keys, errors);
            units_are_ucum(keys, errors);
            if let Some(label) = &keys.label {
                label_keys_are_valid(&label.value.keys, label.value.span, errors);
            }
            buckets_are_valid(keys, errors);
            histogram_keys_on_histograms(field, keys, errors);
        }
    }
    names_are_valid(container, errors);
    names_are_unique(container, errors);
    crate::prometheus_names::prometheus_names_are_unique(container, errors);
    one_field_per_time(container, errors);
    time_units_are_known(container, errors);
}

/// A snapshot has one time and one start time: two fields for either leave it ambiguous.
fn one_field_per_time(container: &Container, errors: &mut Errors) {
    let mut seen: Vec<(RoleKey, Span, String)> = Vec::new();
    for field in &container.fields {
        let Role::Time {
            which, key_span, ..
        } = &field.role
        else {
            continue;
        };
        match seen.iter().find(|(first, _, _)| first == which) {
            Some((_, first_span, first_field)) => {
                errors.at(
                    *key_span,
                    format!(
                        "duplicate `{}` field: `{first_field}` already gives the snapshot's {}; mark one field only",
                        which.keyword(),
                        time_meaning(*which)
                    ),
                );
                errors.first_defined_here(*first_span);
            }
            None => seen.push((*which, *key_span, field.serde_name())),
        }
    }
}

/// What a time role gives, for messages.
fn time_meaning(which: RoleKey) -> &'static str {
    match which {
        RoleKey::StartTime => "start time",
        _ => "time",
    }
}

/// The units a time field's `unit` may name, counts since the Unix epoch, with the
/// nanoseconds in one.
pub(crate) const TIME_UNITS: [(&str, u64); 4] = [
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// An integer time counts seconds, milliseconds, microseconds or nanoseconds.
fn time_units_are_known(container: &Container, errors: &mut Errors) {
    for field in &container.fields {
        let Role::Time {
            which,
            unit: Some(unit),
            ..
        } = &field.role
        else {
            continue;
        };
        let value = unit.value.value();
        if !TIME_UNITS.iter().any(|(known, _)| *known == value) {
            errors.at(
                unit.value.span(),
                format!(
                    "invalid `unit`{} of a `{}` field: expected `s`, `ms`, `us` or `ns` (since the Unix epoch)",
                    quoted(&value),
                    which.keyword()
                ),
            );
        }
    }
}

/// A counter only goes up, so its values are unsigned. Judged here for the std types the
/// tokens name; `expand` has the compiler judge other types by their `VALUE_TYPE`.
fn counters_are_unsigned(field: &Field, keys: &MetricKeys, errors: &mut Errors) {
    let counter = keys
        .kind
        .as_ref()
        .is_some_and(|kind| kind.value == Kind::Counter);
    if counter && field.std_value() == Some(Signed::Yes) {
        errors.at(field.ty_span, signed_counter(field));
    }
}

/// The message for a counter of signed values.
pub(crate) fn signed_counter(field: &Field) -> String {
    format!(
        "`counter` field `{}` holds signed values (`{}`), but a counter only goes up: use `up_down_counter` (or `gauge`), or an unsigned type",
        field.serde_name(),
        type_text(field.ty)
    )
}

/// A label names the attribute a map's keys are reported under. Judged here for the std
/// value types the tokens name; `expand` has the compiler judge other types.
fn labels_only_on_maps(field: &Field, keys: &MetricKeys, errors: &mut Errors) {
    if let (Some(label), Some(_)) = (&keys.label, field.std_value()) {
        errors.at(label.key_span, label_on_non_map(field));
    }
}

/// The message for a `label` on a field that is not a map.
pub(crate) fn label_on_non_map(field: &Field) -> String {
    format!(
        "`label` applies to map fields, and field `{}` is not a map (`{}`): remove `label`, or make the field a `HashMap`, `BTreeMap` or `LabelMap` from a label key to a metric value",
        field.serde_name(),
        type_text(field.ty)
    )
}

/// A `bool` is exported as 0 or 1, which has no unit.
fn no_unit_on_bool(field: &Field, keys: &MetricKeys, errors: &mut Errors) {
    let Some(unit) = &keys.unit else {
        return;
    };
    if let syn::Type::Path(path) = field.ty {
        if path.qself.is_none() && path.path.is_ident("bool") {
            errors.at(
                unit.key_span,
                "`unit` does not apply to a `bool` field: it is exported as 0 or 1; remove `unit`",
            );
        }
    }
}

/// Units are UCUM codes as OpenTelemetry uses them (see `metrics_rules::check_unit`).
fn units_are_ucum(keys: &MetricKeys, errors: &mut Errors) {
    let Some(unit) = &keys.unit else {
        return;
    };
    let value = unit.value.value();
    if let Err(problem) = check_unit(&value) {
        errors.at(
            unit.value.span(),
            format!("invalid `unit`{}: {problem}", quoted(&value)),
        );
    }
}

/// Attribute keys follow `metrics_rules::check_label_key`, are unique (also as Prometheus
/// spells them, `.` as `_`), and there are at least one and at most `MAX_LABELS`. Shared
/// with `#[derive(LabelSet)]`, whose field names are keys.
pub(crate) fn label_keys_are_valid(keys: &[syn::LitStr], span: Span, errors: &mut Errors) {
    if keys.is_empty() {
        errors.at(
            span,
            "`label` needs at least one key: it names the attributes the map's keys are reported under, as in `label = \"tier\"`",
        );
    }
    if keys.len() > MAX_LABELS {
        errors.at(
            span,
            format!(
                "{} attribute keys, at most {MAX_LABELS} are allowed: every attribute multiplies the series",
                keys.len()
            ),
        );
    }
    let mut seen: HashMap<String, &syn::LitStr> = HashMap::new();
    for key in keys {
        let value = key.value();
        if let Err(problem) = check_label_key(&value) {
            errors.at(
                key.span(),
                format!("invalid attribute key{}: {problem}", quoted(&value)),
            );
            continue;
        }
        let spelling = prometheus_spelling(&value);
        if let Some(first) = seen.get(&spelling) {
            let first_value = first.value();
            let message = if first_value == value {
                format!("duplicate attribute key `{value}`")
            } else {
                format!("attribute keys `{first_value}` and `{value}` are both `{spelling}` in Prometheus, which writes `.` as `_`; rename one of them")
            };
            errors.at(key.span(), message);
            errors.first_defined_here(first.span());
        } else {
            seen.insert(spelling, key);
        }
    }
}

/// Explicit bucket bounds are finite, strictly increasing, at least one and at most
/// `MAX_BUCKETS` (`metrics_rules::check_buckets`), and make no sense with another kind.
fn buckets_are_valid(keys: &MetricKeys, errors: &mut Errors) {
    let Some(buckets) = &keys.buckets else {
        return;
    };
    if let Err(problem) = check_buckets(&buckets.value.bounds) {
        errors.at(buckets.value.span, format!("invalid `buckets`: {problem}"));
    }
    if let Some(kind) = &keys.kind {
        if kind.value != Kind::Histogram {
            errors.at(
                buckets.key_span,
                format!(
                    "`buckets` applies to explicit-bucket histograms, and the field is declared `{}`: remove `buckets`, or make the field a `Histogram`",
                    kind.value.keyword()
                ),
            );
        }
    }
}

/// `histogram`, `exponential_histogram` and `buckets` on a std number type (judged here from
/// the tokens; `expand` has the compiler judge other types).
fn histogram_keys_on_histograms(field: &Field, keys: &MetricKeys, errors: &mut Errors) {
    if field.std_value().is_none() {
        return;
    }
    if let Some(kind) = &keys.kind {
        if matches!(kind.value, Kind::Histogram | Kind::ExponentialHistogram) {
            errors.at(
                kind.key_span,
                histogram_kind_on_non_histogram(field, kind.value),
            );
        }
    }
    if let Some(buckets) = &keys.buckets {
        errors.at(buckets.key_span, buckets_on_non_histogram(field));
    }
}

/// The message for a histogram kind on a field that holds another value.
pub(crate) fn histogram_kind_on_non_histogram(field: &Field, kind: Kind) -> String {
    let ty = match kind {
        Kind::ExponentialHistogram => "ExponentialHistogram",
        _ => "Histogram",
    };
    format!(
        "`{}` applies to `{ty}` fields (and their snapshots), and field `{}` is `{}`: record into a `metrics_core::{ty}`",
        kind.keyword(),
        field.serde_name(),
        type_text(field.ty)
    )
}

/// The message for `buckets` on a field that is not an explicit-bucket histogram.
pub(crate) fn buckets_on_non_histogram(field: &Field) -> String {
    format!(
        "`buckets` applies to `Histogram` and `HistogramSnapshot` fields, and field `{}` is `{}`: remove `buckets`, or make the field a `metrics_core::Histogram`",
        field.serde_name(),
        type_text(field.ty)
    )
}

/// Names follow OpenTelemetry's instrument-name rule; an invalid name would silently yield
/// a no-op instrument at run time.
fn names_are_valid(container: &Container, errors: &mut Errors) {
    if let Some(prefix) = &container.attrs.prefix {
        let value = prefix.value.value();
        if let Err(problem) = check_name(&value) {
            errors.at(
                prefix.value.span(),
                format!("invalid `prefix`{}: {}", quoted(&value), describe(problem)),
            );
        }
    }
    for field in container.fields.iter().filter(|field| field.is_named()) {
        let name = field.metric_name();
        let full = container.metric_name(field);
        let message = if let Err(problem) = check_name(&name) {
            let problem = describe(problem);
            if field.rename.is_some() {
                format!("invalid `rename`{}: {problem}", quoted(&name))
            } else {
                format!("invalid metric name{}: {problem}; give the field a valid metric name with `#[metric(rename = \"...\")]`", quoted(&name))
            }
        } else if full.len() > MAX_NAME_LEN {
            format!(
                "metric name is {} characters long with its `prefix`, OpenTelemetry allows at most {MAX_NAME_LEN}",
                full.len()
            )
        } else {
            continue;
        };
        errors.at(field.name_span(), message);
    }
}

/// Two fields cannot export under one name.
fn names_are_unique(container: &Container, errors: &mut Errors) {
    let mut seen: HashMap<String, (Span, String)> = HashMap::new();
    for field in container.fields.iter().filter(|field| field.is_named()) {
        let name = container.metric_name(field);
        let span = field.name_span();
        match seen.get(&name) {
            Some((first, first_field)) => {
                errors.at(
                    span,
                    format!(
                        "duplicate metric name `{name}`: fields `{first_field}` and `{}` both export it; rename one of them",
                        field.serde_name()
                    ),
                );
                errors.first_defined_here(*first);
            }
            None => {
                seen.insert(name, (span, field.serde_name()));
            }
        }
    }
}

/// What is wrong with a name, for a message.
fn describe(problem: NameProblem) -> String {
    match problem {
        NameProblem::Empty => "it cannot be empty".to_owned(),
        NameProblem::BadStart(c) => {
            format!("it must start with an ASCII letter, not {}", character(c))
        }
        NameProblem::BadChar(c) => format!(
            "it may contain only ASCII letters, digits, {NAME_PUNCTUATION}, not {}",
            character(c)
        ),
        NameProblem::TooLong(len) => {
            format!("it is {len} characters long, OpenTelemetry allows at most {MAX_NAME_LEN}")
        }
    }
}

/// A character as a message shows it; a blank one would be invisible between backticks.
fn character(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        c if c.is_whitespace() || c.is_control() => format!("`{}`", c.escape_default()),
        c => format!("`{c}`"),
    }
}

/// The value in backticks, after a space, for a message; nothing when it is empty or too
/// long to read in a message (the error's span shows it).
fn quoted(value: &str) -> String {
    if value.is_empty() || value.chars().count() > 64 {
        String::new()
    } else {
        format!(" `{value}`")
    }
}
