//! How each kind of field contributes to a group: its schema shape, its points and its JSON.
//!
//! Generated code reaches these through `__private`; users extend the set of field types
//! with [`MetricValue`], never by implementing [`Field`].

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::io;

use crate::json::JsonFormat;
use crate::schema::{GroupSchema, ValueType};
use crate::{MetricValue, MetricsGroup, Visitor};

/// What a field type is, as far as the schema is concerned.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// One metric (a plain value, an optional value, or a labeled map).
    Value(ValueType),
    /// A nested group.
    Group(&'static GroupSchema),
}

impl Shape {
    /// How many metrics a field of this shape stands for.
    pub const fn metric_count(self) -> usize {
        match self {
            Shape::Value(_) => 1,
            Shape::Group(schema) => schema.metric_count,
        }
    }
}

/// A type that can be a field of a `#[derive(MetricsGroup)]` struct.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a metric field",
    label = "unsupported metric field type",
    note = "metric fields are integers, floats, `bool`, `Duration`, std atomics, `Option<T>`, `HashMap`/`BTreeMap` from a string key to a value (with `label = \"...\"`), and `#[derive(MetricsGroup)]` types",
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
        if let Some(value) = self.metric_value() {
            visitor.point(None, value);
        }
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

/// One point per entry, labeled with the key; JSON entries in the map's iteration order, as
/// serde_json writes them (a `BTreeMap` gives sorted output).
impl<K, V, S> Field for HashMap<K, V, S>
where
    K: Borrow<str>,
    V: MetricValue,
{
    const SHAPE: Shape = Shape::Value(V::VALUE_TYPE);

    fn visit(&self, visitor: &mut dyn Visitor) {
        visit_entries(self.iter(), visitor);
    }

    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        write_entries(self.iter().map(|(k, v)| (k.borrow(), v)), writer, format)
    }
}

/// One point per entry, labeled with the key; JSON entries in the map's order.
impl<K, V> Field for BTreeMap<K, V>
where
    K: Borrow<str>,
    V: MetricValue,
{
    const SHAPE: Shape = Shape::Value(V::VALUE_TYPE);

    fn visit(&self, visitor: &mut dyn Visitor) {
        visit_entries(self.iter(), visitor);
    }

    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        write_entries(self.iter().map(|(k, v)| (k.borrow(), v)), writer, format)
    }
}

fn visit_entries<'a, K, V>(entries: impl Iterator<Item = (&'a K, &'a V)>, visitor: &mut dyn Visitor)
where
    K: Borrow<str> + 'a,
    V: MetricValue + 'a,
{
    for (key, value) in entries {
        if let Some(value) = value.metric_value() {
            visitor.point(Some(key.borrow()), value);
        }
    }
    visitor.advance(1);
}

/// Writes a JSON object the way serde_json serializes a map with string keys.
fn write_entries<'a, V, W, F>(
    entries: impl Iterator<Item = (&'a str, &'a V)>,
    writer: &mut W,
    format: &mut F,
) -> io::Result<()>
where
    V: MetricValue + 'a,
    W: ?Sized + io::Write,
    F: JsonFormat,
{
    format.begin_object(writer)?;
    for (i, (key, value)) in entries.enumerate() {
        format.entry_key(writer, i == 0, key)?;
        value.write_json(writer, format)?;
        format.end_object_value(writer)?;
    }
    format.end_object(writer)
}

/// Types that may carry a kind (`counter`, ...) and `unit`: metric values, not nested groups.
#[diagnostic::on_unimplemented(
    message = "`counter`, `gauge`, `up_down_counter` and `unit` apply to metric values, not to `{Self}`",
    label = "not a metric value",
    note = "a nested group has no kind or unit of its own: put them on the fields of the nested group"
)]
pub trait ValueField {}
impl<T: MetricValue> ValueField for T {}
impl<T: ValueField> ValueField for Option<T> {}
impl<K, V, S> ValueField for HashMap<K, V, S> {}
impl<K, V> ValueField for BTreeMap<K, V> {}

/// Types that take `label`: maps of labeled values.
#[diagnostic::on_unimplemented(
    message = "`label` applies to map fields, and `{Self}` is not a map",
    label = "not a `HashMap` or `BTreeMap` of metric values",
    note = "remove `label`, or make the field a map from a string key to a metric value"
)]
pub trait LabeledField {}
impl<T: LabeledField> LabeledField for Option<T> {}
impl<K, V, S> LabeledField for HashMap<K, V, S> {}
impl<K, V> LabeledField for BTreeMap<K, V> {}

/// Types that must not take `label`: everything but maps. Derived groups implement it too.
#[diagnostic::on_unimplemented(
    message = "map field `{Self}` needs `#[metric(label = \"...\")]` naming the attribute its keys are reported under",
    label = "map field without `label`"
)]
pub trait UnlabeledField {}
impl<T: MetricValue> UnlabeledField for T {}
impl<T: UnlabeledField> UnlabeledField for Option<T> {}

/// Types that take `flatten`: nested groups.
#[diagnostic::on_unimplemented(
    message = "`flatten` applies to nested groups, and `{Self}` is not a `#[derive(MetricsGroup)]` type",
    label = "not a metrics group",
    note = "remove `flatten`"
)]
pub trait GroupField {}
impl<G: MetricsGroup> GroupField for G {}
impl<T: GroupField> GroupField for Option<T> {}
