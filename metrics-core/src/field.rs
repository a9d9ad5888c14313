//! How each kind of field contributes to a group: its schema shape, its points and its JSON.
//!
//! Generated code reaches these through `__private`; users extend the set of field types
//! with [`MetricValue`], never by implementing [`Field`].

use std::collections::{BTreeMap, HashMap};
use std::io;

use crate::json::JsonFormat;
use crate::labels::{JsonKey, LabelMap, LabelSet};
use crate::schema::{GroupSchema, ValueType};
use crate::{MetricValue, Visitor};

/// What a field type is, as far as the schema is concerned.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// One metric with one point: a plain or optional value.
    Value(ValueType),
    /// One metric with a point per entry, labeled with its key: a map.
    Map(ValueType, MapKeys),
    /// A nested group.
    Group(&'static GroupSchema),
}

/// What a map's key type says about its attributes.
#[derive(Clone, Copy, Debug)]
pub struct MapKeys {
    /// The attribute values one key gives ([`LabelSet::ARITY`]).
    pub arity: usize,
    /// The keys the key type names itself ([`LabelSet::KEYS`]); empty when `label` must.
    pub names: &'static [&'static str],
}

impl MapKeys {
    /// The keys of label set `K`.
    pub const fn of<K: ?Sized + LabelSet>() -> MapKeys {
        MapKeys {
            arity: K::ARITY,
            names: K::KEYS,
        }
    }
}

/// What the derive's `const` checks ask of a field's shape, to reject attributes its type
/// cannot take with a message naming the field.
impl Shape {
    /// How many metrics a field of this shape stands for.
    pub const fn metric_count(self) -> usize {
        match self {
            Shape::Value(_) | Shape::Map(..) => 1,
            Shape::Group(schema) => schema.metric_count,
        }
    }

    /// A histogram (either kind): the shape that takes `buckets` (explicit only) and has a
    /// histogram kind.
    pub const fn value_type(self) -> Option<ValueType> {
        match self {
            Shape::Value(value_type) | Shape::Map(value_type, _) => Some(value_type),
            Shape::Group(_) => None,
        }
    }

    /// Whether a metric of this shape can be of `kind` (see [`MetricKind::accepts`]).
    pub const fn accepts(self, kind: crate::schema::MetricKind) -> bool {
        match self.value_type() {
            Some(value_type) => kind.accepts(value_type),
            None => true,
        }
    }

    /// An explicit-bucket histogram: the only shape that takes `buckets`.
    pub const fn is_explicit_histogram(self) -> bool {
        matches!(self.value_type(), Some(ValueType::Histogram))
    }

    /// A nested group: it takes no kind, unit or description of its own.
    pub const fn is_group(self) -> bool {
        matches!(self, Shape::Group(_))
    }

    /// A map: the only shape that takes (and needs) a `label`.
    pub const fn is_map(self) -> bool {
        matches!(self, Shape::Map(..))
    }

    /// A map's attribute count; 0 for other shapes.
    pub const fn map_arity(self) -> usize {
        match self {
            Shape::Map(_, keys) => keys.arity,
            _ => 0,
        }
    }

    /// A map whose key type names its attribute keys (a `#[derive(LabelSet)]` struct).
    pub const fn map_names_keys(self) -> bool {
        match self {
            Shape::Map(_, keys) => !keys.names.is_empty(),
            _ => false,
        }
    }

    /// Signed points, which a `counter` cannot hold.
    pub const fn is_signed(self) -> bool {
        matches!(
            self,
            Shape::Value(ValueType::I64) | Shape::Map(ValueType::I64, _)
        )
    }
}

/// A type that can be a field of a `#[derive(MetricsGroup)]` struct.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a metric field",
    label = "unsupported metric field type",
    note = "metric fields are integers, floats, `bool`, `Duration`, std atomics, `Option<T>`, `HashMap`/`BTreeMap` from a label key (string, `bool`, integer up to `i64` or `u32`, `#[derive(LabelValue)]` enum) to a value, histograms, `LabelMap` from a tuple or `#[derive(LabelSet)]` key, and `#[derive(MetricsGroup)]` types",
    note = "implement `metrics_core::MetricValue` for your own value types, or mark the field `#[metric(skip)]`"
)]
pub trait Field {
    /// The field's place in the schema.
    const SHAPE: Shape;

    /// Hands the field's points to the visitor, then advances past its metrics.
    fn visit(&self, visitor: &mut dyn Visitor);

    /// [`visit`](Field::visit), never inlined: what a large struct's derived `visit` calls
    /// (see [`write_member`](Field::write_member)).
    #[doc(hidden)]
    #[inline(never)]
    fn visit_member(&self, visitor: &mut dyn Visitor) {
        self.visit(visitor);
    }

    /// Writes the field's JSON value.
    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat;

    /// Writes the field as a member of its struct's object: separator and key (see
    /// [`JsonFormat::member`]), value. Never inlined: a large struct's derived `write_json`
    /// is one call of this per member, an instance per field type, where a small struct's
    /// inlines each member's code.
    #[doc(hidden)]
    #[inline(never)]
    fn write_member<W, F>(
        &self,
        writer: &mut W,
        format: &mut F,
        first: bool,
        quoted_key: &str,
        compact: &str,
    ) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        format.member(writer, first, quoted_key, compact)?;
        self.write_json(writer, format)?;
        format.end_object_value(writer)
    }
}

impl<T: MetricValue> Field for T {
    const SHAPE: Shape = Shape::Value(T::VALUE_TYPE);

    #[inline]
    fn visit(&self, visitor: &mut dyn Visitor) {
        self.visit_point(&[], visitor);
        visitor.advance(1);
    }

    #[inline]
    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        MetricValue::write_json(self, writer, format)
    }
}

/// `None` records no point (and, for a group, none of its metrics) and is `null` in JSON.
impl<T: Field> Field for Option<T> {
    const SHAPE: Shape = T::SHAPE;

    #[inline]
    fn visit(&self, visitor: &mut dyn Visitor) {
        match self {
            Some(inner) => inner.visit(visitor),
            None => visitor.advance(T::SHAPE.metric_count()),
        }
    }

    #[inline]
    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        match self {
            Some(inner) => inner.write_json(writer, format),
            None => format.write_null(writer),
        }
    }
}

/// One point per entry, with its key's attributes; JSON entries in the map's iteration
/// order, as serde_json writes them (a `BTreeMap` gives sorted output).
impl<K, V, S> Field for HashMap<K, V, S>
where
    K: LabelSet + JsonKey,
    V: MetricValue,
{
    const SHAPE: Shape = Shape::Map(V::VALUE_TYPE, MapKeys::of::<K>());

    fn visit(&self, visitor: &mut dyn Visitor) {
        visit_entries(self.iter(), visitor);
    }

    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        write_entries(self.iter(), writer, format)
    }
}

/// One point per entry, with its key's attributes; JSON entries in the map's order.
impl<K, V> Field for BTreeMap<K, V>
where
    K: LabelSet + JsonKey,
    V: MetricValue,
{
    const SHAPE: Shape = Shape::Map(V::VALUE_TYPE, MapKeys::of::<K>());

    fn visit(&self, visitor: &mut dyn Visitor) {
        visit_entries(self.iter(), visitor);
    }

    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        write_entries(self.iter(), writer, format)
    }
}

/// One point per entry, with every attribute of its key; JSON as its `Serialize` writes it
/// (a list of `[key, value]` pairs), which is what serde_json writes.
impl<K, V> Field for LabelMap<K, V>
where
    K: LabelSet + serde::Serialize,
    V: MetricValue + serde::Serialize,
{
    const SHAPE: Shape = Shape::Map(V::VALUE_TYPE, MapKeys::of::<K>());

    fn visit(&self, visitor: &mut dyn Visitor) {
        visit_entries(self.iter(), visitor);
    }

    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        format.serialize(writer, self)
    }
}

fn visit_entries<'a, K, V>(entries: impl Iterator<Item = (&'a K, &'a V)>, visitor: &mut dyn Visitor)
where
    K: LabelSet + 'a,
    V: MetricValue + 'a,
{
    for (key, value) in entries {
        value.visit_point(key.label_values().as_ref(), visitor);
    }
    visitor.advance(1);
}

/// Writes a JSON object the way serde_json serializes a map.
fn write_entries<'a, K, V, W, F>(
    entries: impl Iterator<Item = (&'a K, &'a V)>,
    writer: &mut W,
    format: &mut F,
) -> io::Result<()>
where
    K: JsonKey + 'a,
    V: MetricValue + 'a,
    W: ?Sized + io::Write,
    F: JsonFormat,
{
    format.begin_object(writer)?;
    for (i, (key, value)) in entries.enumerate() {
        key.write_key(writer, format, i == 0)?;
        value.write_json(writer, format)?;
        format.end_object_value(writer)?;
    }
    format.end_object(writer)
}

/// What the type of a `#[metric(skip)]` field needs: skipped fields are not metrics, but they
/// are still written to the JSON, through their `serde::Serialize` (unless `#[serde(skip)]`
/// leaves them out, and the derive then asks nothing of their type).
///
/// Implemented for every `serde::Serialize` type; the derive requires it, so that a field
/// that is not `Serialize` gets a message saying why it must be.
#[diagnostic::on_unimplemented(
    message = "`#[metric(skip)]` field of type `{Self}` must implement `serde::Serialize`: skipped fields are not metrics, but they are still written to the JSON",
    label = "not `serde::Serialize`",
    note = "derive or implement `serde::Serialize` for `{Self}`, or leave the field out of the JSON with `#[serde(skip)]`"
)]
pub trait SkippedField {
    /// Writes the field as a member of its struct's object, as serde_json would.
    fn write_member<W, F>(
        &self,
        writer: &mut W,
        format: &mut F,
        first: bool,
        quoted_key: &str,
        compact: &str,
    ) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat;
}

// `do_not_recommend` (Rust 1.85; ignored with a warning before) makes rustc report a missing
// `Serialize` as this trait's message, without listing every type that implements it.
#[allow(unknown_or_malformed_diagnostic_attributes)]
#[diagnostic::do_not_recommend]
impl<T: ?Sized + serde::Serialize> SkippedField for T {
    #[inline]
    fn write_member<W, F>(
        &self,
        writer: &mut W,
        format: &mut F,
        first: bool,
        quoted_key: &str,
        compact: &str,
    ) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        format.member(writer, first, quoted_key, compact)?;
        format.serialize(writer, self)?;
        format.end_object_value(writer)
    }
}
