//! Compile-time construction of [`GroupSchema`]s, and the rules only the type system can see.
//!
//! The derive checks what it can see in the tokens (names, units, attribute combinations).
//! What depends on a field's *type* (is it a group? how many metrics does it hold? what names
//! does a flattened group bring?) is checked here, in `const fn`s the generated code calls in
//! `const` and `static` items, so a violation is a compile error.

use super::{GroupSchema, MetricDescriptor, MetricKind, NestedGroup, SchemaField, ValueType};
use crate::field::Shape;

/// OpenTelemetry's limit on instrument name length.
pub const MAX_NAME_LEN: usize = 255;

/// What the derive knows about one field from its attributes.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    /// The metric name, or for a group the path segment (`""` when flattened, no prefix).
    pub name: &'static str,
    /// The declared or default kind.
    pub kind: MetricKind,
    /// The unit, `""` when none.
    pub unit: &'static str,
    /// The description, `""` when none.
    pub description: &'static str,
    /// The label key of a map field.
    pub label: Option<&'static str>,
}

/// The schema entry of one field, from its attributes and its type's shape.
pub const fn field(spec: FieldSpec, shape: Shape) -> SchemaField {
    match shape {
        Shape::Value(value_type) => {
            if matches!(spec.kind, MetricKind::Counter) && matches!(value_type, ValueType::I64) {
                panic!(
                    "a `counter` needs an unsigned integer or float value: use `up_down_counter` or `gauge` for signed values"
                );
            }
            SchemaField::Metric(MetricDescriptor {
                name: spec.name,
                kind: spec.kind,
                unit: spec.unit,
                description: spec.description,
                label: spec.label,
                value_type,
            })
        }
        Shape::Group(schema) => SchemaField::Group(NestedGroup {
            name: if spec.name.is_empty() {
                None
            } else {
                Some(spec.name)
            },
            schema,
        }),
    }
}

/// The number of metrics in a list of fields.
pub const fn metric_count(fields: &[SchemaField]) -> usize {
    let mut count = 0;
    let mut i = 0;
    while i < fields.len() {
        count += match fields[i] {
            SchemaField::Metric(_) => 1,
            SchemaField::Group(group) => group.schema.metric_count,
        };
        i += 1;
    }
    count
}

/// A group's schema; fails to compile when a full metric name would exceed OTel's limit.
pub const fn group(type_name: &'static str, fields: &'static [SchemaField]) -> GroupSchema {
    let mut longest_name = 0;
    let mut i = 0;
    while i < fields.len() {
        let len = match fields[i] {
            SchemaField::Metric(metric) => metric.name.len(),
            SchemaField::Group(NestedGroup { name, schema }) => match name {
                Some(name) => name.len() + 1 + schema.longest_name,
                None => schema.longest_name,
            },
        };
        if len > longest_name {
            longest_name = len;
        }
        i += 1;
    }
    if longest_name > MAX_NAME_LEN {
        panic!(
            "a full metric name of this group is longer than 255 characters, OpenTelemetry's limit: shorten the names on its path through nested groups"
        );
    }
    GroupSchema {
        type_name,
        fields,
        metric_count: metric_count(fields),
        longest_name,
    }
}

/// The deepest nesting whose names [`assert_unique_names`] can compare.
const MAX_DEPTH: usize = 16;

/// A full metric name as its dot-separated parts, compared without building a string.
#[derive(Clone, Copy)]
struct PartedName {
    parts: [&'static str; MAX_DEPTH],
    len: usize,
}

impl PartedName {
    const EMPTY: PartedName = PartedName {
        parts: [""; MAX_DEPTH],
        len: 0,
    };

    const fn with(mut self, part: &'static str) -> PartedName {
        if self.len == MAX_DEPTH {
            panic!("metrics groups nest too deeply to check their names (more than 16 levels)");
        }
        self.parts[self.len] = part;
        self.len += 1;
        self
    }

    /// The byte at `index` of the dotted name, if any.
    const fn byte(&self, mut index: usize) -> Option<u8> {
        let mut part = 0;
        while part < self.len {
            let bytes = self.parts[part].as_bytes();
            if index < bytes.len() {
                return Some(bytes[index]);
            }
            index -= bytes.len();
            if part + 1 < self.len {
                if index == 0 {
                    return Some(b'.');
                }
                index -= 1;
            }
            part += 1;
        }
        None
    }

    const fn eq(&self, other: &PartedName) -> bool {
        let mut i = 0;
        loop {
            match (self.byte(i), other.byte(i)) {
                (None, None) => return true,
                (Some(a), Some(b)) if a == b => i += 1,
                _ => return false,
            }
        }
    }
}

const fn collect_names(
    fields: &[SchemaField],
    prefix: PartedName,
    out: &mut [PartedName],
    count: &mut usize,
) {
    let mut i = 0;
    while i < fields.len() {
        match fields[i] {
            SchemaField::Metric(metric) => {
                out[*count] = prefix.with(metric.name);
                *count += 1;
            }
            SchemaField::Group(NestedGroup { name, schema }) => {
                let inner = match name {
                    Some(name) => prefix.with(name),
                    None => prefix,
                };
                collect_names(schema.fields, inner, out, count);
            }
        }
        i += 1;
    }
}

/// Fails to compile when two metrics of the fields share a full name, which flattened groups
/// and dotted renames can cause in ways the derive cannot see. `N` is the fields' metric count.
///
/// The derive calls it on pairs of fields, at the later field's span, so the message speaks
/// of "this field" and "an earlier field".
pub const fn assert_unique_names<const N: usize>(fields: &[SchemaField]) {
    let mut names = [PartedName::EMPTY; N];
    let mut count = 0;
    collect_names(fields, PartedName::EMPTY, &mut names, &mut count);
    let mut a = 0;
    while a < N {
        let mut b = a + 1;
        while b < N {
            if names[a].eq(&names[b]) {
                panic!("duplicate metric name: this field exports a metric under the same full name as an earlier field (through `flatten` or a dotted `rename`); rename one of them");
            }
            b += 1;
        }
        a += 1;
    }
}
