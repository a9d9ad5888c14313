//! Compile-time construction of [`GroupSchema`]s, and the rules only the type system can see.
//!
//! The derive checks what it can see in the tokens (names, units, attribute combinations).
//! What depends on a field's *type* (is it a group? how many metrics does it hold? what names
//! does a flattened group bring?) is checked here, in `const fn`s the generated code calls in
//! `const` items, so a violation is a compile error: these functions return the message and
//! the derive's own `const` item panics with it, spanned at the offending field.

use super::{GroupSchema, MetricDescriptor, MetricKind, NestedGroup, SchemaField, ValueType};
use crate::field::Shape;

use metrics_rules::MAX_NAME_LEN;

/// What the derive knows about one field from its attributes.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    /// The metric name, or for a group the path segment (`""` when flattened, no prefix).
    pub name: &'static str,
    /// The declared kind; `None` for the value type's default ([`MetricKind::default_for`]).
    pub kind: Option<MetricKind>,
    /// The unit, `""` when none.
    pub unit: &'static str,
    /// The description, `""` when none.
    pub description: &'static str,
    /// The attribute keys `label = ...` names on a map field; empty when not given (the key
    /// type may name them, see [`Shape::map_names_keys`]).
    pub labels: &'static [&'static str],
    /// `buckets = [...]`; empty when not given.
    pub buckets: &'static [f64],
}

impl FieldSpec {
    /// Every key absent: what the derive completes a field's spec with
    /// (`..FieldSpec::NONE`), so that it writes only the keys it has.
    pub const NONE: FieldSpec = FieldSpec {
        name: "",
        kind: None,
        unit: "",
        description: "",
        labels: &[],
        buckets: &[],
    };
}

/// A group's schema entries, one per field from its attributes and its type's shape.
///
/// One call for all of a group's fields: the compiler handles a `const` holding one array
/// literal more cheaply than one holding a call per field (BENCHMARKS.md, "Compile time").
pub const fn fields<const N: usize>(specs: [(FieldSpec, Shape); N]) -> [SchemaField; N] {
    // Any value to start from: each entry is overwritten.
    let mut fields = [field(FieldSpec::NONE, Shape::Value(ValueType::U64)); N];
    let mut i = 0;
    while i < N {
        let (spec, shape) = specs[i];
        fields[i] = field(spec, shape);
        i += 1;
    }
    fields
}

/// The schema entry of one field, from its attributes and its type's shape.
///
/// One function, without helpers: the compiler's interpreter evaluates it for every field of
/// every group, and each call costs build time.
pub(crate) const fn field(spec: FieldSpec, shape: Shape) -> SchemaField {
    let (value_type, labels): (ValueType, &'static [&'static str]) = match shape {
        Shape::Value(value_type) => (value_type, &[]),
        // `label = ...` renames the keys a `LabelSet` struct names itself.
        Shape::Map(value_type, keys) if spec.labels.is_empty() => (value_type, keys.names),
        Shape::Map(value_type, _) => (value_type, spec.labels),
        Shape::Group(schema) => {
            return SchemaField::Group(NestedGroup {
                name: if spec.name.is_empty() {
                    None
                } else {
                    Some(spec.name)
                },
                schema,
            })
        }
    };
    SchemaField::Metric(MetricDescriptor {
        name: spec.name,
        kind: match spec.kind {
            Some(kind) => kind,
            None => MetricKind::default_for(value_type),
        },
        unit: spec.unit,
        description: spec.description,
        labels,
        value_type,
        buckets: match value_type {
            ValueType::Histogram if spec.buckets.is_empty() => crate::Histogram::DEFAULT_BOUNDS,
            ValueType::Histogram => spec.buckets,
            _ => &[],
        },
    })
}

/// The number of metrics in a list of fields.
pub const fn metric_count(fields: &[SchemaField]) -> usize {
    let mut count = 0;
    let mut i = 0;
    while i < fields.len() {
        count += match &fields[i] {
            SchemaField::Metric(_) => 1,
            SchemaField::Group(group) => group.schema.metric_count,
        };
        i += 1;
    }
    count
}

/// A group's schema.
pub const fn group(type_name: &'static str, fields: &'static [SchemaField]) -> GroupSchema {
    GroupSchema {
        type_name,
        fields,
        metric_count: metric_count(fields),
        prometheus_names: &[],
    }
}

impl GroupSchema {
    /// The schema with its fields' relocatable Prometheus family names, one per field
    /// (`""` where there is none), as the derive renders them.
    #[doc(hidden)]
    pub const fn with_prometheus_names(
        mut self,
        prometheus_names: &'static [&'static str],
    ) -> GroupSchema {
        self.prometheus_names = prometheus_names;
        self
    }
}

/// The length of the longest full name a field exports, relative to its group.
///
/// Measured here, by the check of the group that nests it, rather than stored in each
/// schema: most groups are nested nowhere, and measuring every group's names in the
/// compiler's interpreter cost measurable build time.
const fn full_name_len(field: &SchemaField) -> usize {
    match field {
        SchemaField::Metric(metric) => metric.name.len(),
        SchemaField::Group(NestedGroup { name, schema }) => match name {
            Some(name) => name.len() + 1 + longest_in(schema.fields),
            None => longest_in(schema.fields),
        },
    }
}

/// For a nested group field whose longest full name exceeds OpenTelemetry's limit, the
/// message naming that name, its length and the parts it is built from; empty otherwise.
/// `this_field` says where the first part comes from (the derive passes "field `x`").
///
/// Names of metric fields are checked by the derive itself, which sees them whole.
pub const fn name_too_long(field: SchemaField, this_field: &str) -> Message {
    let SchemaField::Group(group) = field else {
        return Message::EMPTY;
    };
    if full_name_len(&field) <= MAX_NAME_LEN {
        return Message::EMPTY;
    }
    let mut longest = match group.name {
        Some(name) => PartedName::EMPTY.with(name, ""),
        None => PartedName::EMPTY,
    };
    let mut fields = group.schema.fields;
    let mut owner = group.schema.type_name;
    // Descend along the field holding the longest name.
    'descend: loop {
        let mut i = 0;
        while i < fields.len() {
            let candidate = fields[i];
            if full_name_len(&candidate) == longest_in(fields) {
                match candidate {
                    SchemaField::Metric(metric) => {
                        longest = longest.with(metric.name, owner);
                        break 'descend;
                    }
                    SchemaField::Group(NestedGroup { name, schema }) => {
                        if let Some(name) = name {
                            longest = longest.with(name, owner);
                        }
                        fields = schema.fields;
                        owner = schema.type_name;
                        continue 'descend;
                    }
                }
            }
            i += 1;
        }
        break;
    }
    let mut message = Message::EMPTY
        .push("metric name `")
        .push_name(&longest)
        .push("` is ")
        .push_usize(longest.text_len())
        .push(" characters long, OpenTelemetry allows at most ")
        .push_usize(MAX_NAME_LEN)
        .push("; it is built from ");
    let mut part = 0;
    while part < longest.len {
        if part > 0 {
            message = message.push(if part + 1 == longest.len {
                " and "
            } else {
                ", "
            });
        }
        message = message.push("`").push(longest.parts[part]).push("` (");
        message = if longest.owners[part].is_empty() {
            message.push(this_field)
        } else {
            message.push("in `").push(longest.owners[part]).push("`")
        };
        message = message.push(")");
        part += 1;
    }
    message.push(": shorten one of them")
}

/// The longest full name length among `fields`.
const fn longest_in(fields: &[SchemaField]) -> usize {
    let mut longest = 0;
    let mut i = 0;
    while i < fields.len() {
        let len = full_name_len(&fields[i]);
        if len > longest {
            longest = len;
        }
        i += 1;
    }
    longest
}

/// The deepest nesting whose names [`assert_unique_names`] can compare.
const MAX_DEPTH: usize = 16;

/// A full metric name as its dot-separated parts, compared without building a string.
#[derive(Clone, Copy)]
pub(crate) struct PartedName {
    pub(crate) parts: [&'static str; MAX_DEPTH],
    /// The type name of the group each part is declared in; `""` for the checked field.
    owners: [&'static str; MAX_DEPTH],
    pub(crate) len: usize,
}

impl PartedName {
    pub(crate) const EMPTY: PartedName = PartedName {
        parts: [""; MAX_DEPTH],
        owners: [""; MAX_DEPTH],
        len: 0,
    };

    pub(crate) const fn with(mut self, part: &'static str, owner: &'static str) -> PartedName {
        if self.len == MAX_DEPTH {
            panic!("metrics groups nest too deeply to check their names (more than 16 levels)");
        }
        self.parts[self.len] = part;
        self.owners[self.len] = owner;
        self.len += 1;
        self
    }

    /// The length of the dotted name.
    const fn text_len(&self) -> usize {
        let mut len = 0;
        let mut part = 0;
        while part < self.len {
            len += self.parts[part].len() + if part > 0 { 1 } else { 0 };
            part += 1;
        }
        len
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

    pub(crate) const fn eq(&self, other: &PartedName) -> bool {
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
                out[*count] = prefix.with(metric.name, "");
                *count += 1;
            }
            SchemaField::Group(NestedGroup { name, schema }) => {
                let inner = match name {
                    Some(name) => prefix.with(name, ""),
                    None => prefix,
                };
                collect_names(schema.fields, inner, out, count);
            }
        }
        i += 1;
    }
}

/// When two metrics of `fields` share a full name (which flattened groups and dotted renames
/// can cause in ways the derive cannot see), the message `before` + that name + `after`;
/// empty otherwise. `N` is the fields' metric count.
///
/// The derive calls it on pairs of fields and panics with the message in a `const` item of
/// its own, spanned at the fields, so that the error names them without pointing here.
pub const fn duplicate_name<const N: usize>(
    fields: &[SchemaField],
    before: &str,
    after: &str,
) -> Message {
    let mut names = [PartedName::EMPTY; N];
    let mut count = 0;
    collect_names(fields, PartedName::EMPTY, &mut names, &mut count);
    let mut a = 0;
    while a < N {
        let mut b = a + 1;
        while b < N {
            if names[a].eq(&names[b]) {
                return Message::EMPTY.push(before).push_name(&names[a]).push(after);
            }
            b += 1;
        }
        a += 1;
    }
    Message::EMPTY
}

/// A compile-time error message: `const` code cannot format, so this appends into a fixed
/// buffer, cutting what does not fit.
#[derive(Clone, Copy)]
pub struct Message {
    bytes: [u8; MESSAGE_CAPACITY],
    len: usize,
}

/// Room for two full names at OpenTelemetry's limit and the words around them.
const MESSAGE_CAPACITY: usize = 2048;

impl Message {
    pub(crate) const EMPTY: Message = Message {
        bytes: [0; MESSAGE_CAPACITY],
        len: 0,
    };

    /// Whether there is nothing to report.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The text (up to the last whole character, if it was cut).
    pub const fn as_str(&self) -> &str {
        let bytes = self.bytes.split_at(self.len).0;
        match core::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(error) => match core::str::from_utf8(bytes.split_at(error.valid_up_to()).0) {
                Ok(text) => text,
                Err(_) => "",
            },
        }
    }

    pub(crate) const fn push(mut self, text: &str) -> Message {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() && self.len < MESSAGE_CAPACITY {
            self.bytes[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    pub(crate) const fn push_name(mut self, name: &PartedName) -> Message {
        let mut part = 0;
        while part < name.len {
            if part > 0 {
                self = self.push(".");
            }
            self = self.push(name.parts[part]);
            part += 1;
        }
        self
    }

    const fn push_usize(mut self, n: usize) -> Message {
        let mut digits = [0u8; 20];
        let mut count = 0;
        let mut rest = n;
        loop {
            digits[count] = b'0' + (rest % 10) as u8;
            count += 1;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        while count > 0 && self.len < MESSAGE_CAPACITY {
            count -= 1;
            self.bytes[self.len] = digits[count];
            self.len += 1;
        }
        self
    }
}
