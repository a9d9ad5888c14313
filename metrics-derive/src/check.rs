//! Rules that need more than one attribute or field to judge, one function per rule.
//!
//! Rules that depend on a field's type (is it a group, a map, a signed integer?) cannot be
//! judged from tokens; `expand` emits bounds and `const` checks for those.

use std::collections::HashMap;

use proc_macro2::Span;

use crate::ast::{Container, Field};
use crate::errors::Errors;

/// OpenTelemetry's limits on instrument names and units.
const MAX_NAME_LEN: usize = 255;
const MAX_UNIT_LEN: usize = 63;

pub(crate) fn check(container: &Container, errors: &mut Errors) {
    for field in &container.fields {
        skip_stands_alone(field, errors);
        flatten_takes_no_metric_keys(field, errors);
        no_unit_on_bool(field, errors);
        units_are_valid(field, errors);
        labels_are_not_empty(field, errors);
    }
    names_are_valid(container, errors);
    names_are_unique(container, errors);
}

/// A skipped field is not a metric, so no other key means anything on it.
fn skip_stands_alone(field: &Field, errors: &mut Errors) {
    if field.attrs.skip.is_none() {
        return;
    }
    for (key, span) in metric_keys(field) {
        errors.at(
            span,
            format!("`skip` cannot be combined with `{key}`: a skipped field is not a metric; remove `{key}`"),
        );
    }
}

/// A flattened group's metrics keep their own kinds, units, names and descriptions.
fn flatten_takes_no_metric_keys(field: &Field, errors: &mut Errors) {
    if field.attrs.flatten.is_none() || field.attrs.skip.is_some() {
        return;
    }
    for (key, span) in metric_keys(field) {
        errors.at(
            span,
            format!("`flatten` cannot be combined with `{key}`: a flattened group's metrics are described by the group's own fields; remove `{key}`"),
        );
    }
}

/// A `bool` is exported as 0 or 1, which has no unit.
fn no_unit_on_bool(field: &Field, errors: &mut Errors) {
    let Some(unit) = &field.attrs.unit else {
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

/// Units are UCUM codes as OpenTelemetry carries them: ASCII, at most 63 characters.
fn units_are_valid(field: &Field, errors: &mut Errors) {
    let Some(unit) = &field.attrs.unit else {
        return;
    };
    let value = unit.value.value();
    if !value.is_ascii() {
        errors.at(
            unit.value.span(),
            format!("invalid `unit` `{value}`: units are ASCII UCUM codes, such as `us` for microseconds or `Cel` for degrees Celsius"),
        );
    } else if value.len() > MAX_UNIT_LEN {
        errors.at(
            unit.value.span(),
            format!(
                "`unit` is {} characters long, OpenTelemetry allows at most {MAX_UNIT_LEN}",
                value.len()
            ),
        );
    }
}

/// A label is an attribute key, which cannot be empty.
fn labels_are_not_empty(field: &Field, errors: &mut Errors) {
    let Some(label) = &field.attrs.label else {
        return;
    };
    if label.value.value().is_empty() {
        errors.at(
            label.value.span(),
            "`label` cannot be empty: it names the attribute the map's keys are reported under, as in `label = \"tier\"`",
        );
    }
}

/// Names follow OpenTelemetry's instrument-name rule; an invalid name would silently yield
/// a no-op instrument at run time.
fn names_are_valid(container: &Container, errors: &mut Errors) {
    if let Some(prefix) = &container.attrs.prefix {
        let value = prefix.value.value();
        if let Some(problem) = name_problem(&value) {
            errors.at(
                prefix.value.span(),
                format!("invalid `prefix`{}: {problem}", quoted(&value)),
            );
        }
    }
    for field in container.fields.iter().filter(|field| named(field)) {
        let name = field.metric_name();
        let full = container.metric_name(field);
        let message = if let Some(problem) = name_problem(&name) {
            if field.attrs.rename.is_some() {
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
    let mut seen: HashMap<String, Span> = HashMap::new();
    for field in container.fields.iter().filter(|field| named(field)) {
        let name = container.metric_name(field);
        let span = field.name_span();
        match seen.get(&name) {
            Some(&first) => {
                errors.at(
                    span,
                    format!("duplicate metric name `{name}`: rename one of the fields"),
                );
                errors.first_defined_here(first);
            }
            None => {
                seen.insert(name, span);
            }
        }
    }
}

/// Whether the field contributes a name of its own (metric or group path segment).
fn named(field: &Field) -> bool {
    field.attrs.skip.is_none() && field.attrs.flatten.is_none()
}

/// What is wrong with a metric name under OpenTelemetry's rule, if anything.
fn name_problem(name: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_.-/".contains(c);
    match name.chars().next() {
        None => Some("it cannot be empty".to_owned()),
        Some(first) if !first.is_ascii_alphabetic() => Some(format!(
            "it must start with an ASCII letter, not {}",
            describe(first)
        )),
        _ => match name.chars().find(|&c| !allowed(c)) {
            Some(bad) => Some(format!(
                "it may contain only ASCII letters, digits, `_`, `.`, `-` and `/`, not {}",
                describe(bad)
            )),
            None if name.len() > MAX_NAME_LEN => Some(format!(
                "it is {} characters long, OpenTelemetry allows at most {MAX_NAME_LEN}",
                name.len()
            )),
            None => None,
        },
    }
}

/// A character as a message shows it; a blank one would be invisible between backticks.
fn describe(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        c if c.is_whitespace() || c.is_control() => format!("`{}`", c.escape_default()),
        c => format!("`{c}`"),
    }
}

/// The name in backticks, after a space, for a message; nothing when the name is empty or
/// too long to read in a message (the error's span shows it).
fn quoted(name: &str) -> String {
    if name.is_empty() || name.chars().count() > 64 {
        String::new()
    } else {
        format!(" `{name}`")
    }
}

/// The keys that describe a metric, with their spans.
fn metric_keys(field: &Field) -> Vec<(&'static str, Span)> {
    let attrs = &field.attrs;
    let mut keys = Vec::new();
    if let Some(kind) = &attrs.kind {
        keys.push((kind.value.keyword(), kind.key_span));
    }
    let valued = [
        ("unit", &attrs.unit),
        ("description", &attrs.description),
        ("rename", &attrs.rename),
        ("label", &attrs.label),
    ];
    for (key, given) in valued {
        if let Some(given) = given {
            keys.push((key, given.key_span));
        }
    }
    if let (Some(_), Some(flatten)) = (&attrs.skip, &attrs.flatten) {
        keys.push(("flatten", flatten.key_span));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::name_problem;

    #[test]
    fn otel_instrument_name_rule() {
        assert_eq!(name_problem("scheduler.running_agents"), None);
        assert_eq!(name_problem("a/b-c_d.e"), None);
        assert!(name_problem("").is_some());
        assert!(name_problem("1abc").is_some());
        assert!(name_problem("_private").is_some());
        assert!(name_problem("a b").is_some());
        assert!(name_problem("größe").is_some());
        assert_eq!(name_problem(&"a".repeat(255)), None);
        assert!(name_problem(&"a".repeat(256)).is_some());
    }
}
