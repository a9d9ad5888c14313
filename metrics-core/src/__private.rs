//! The surface generated code calls; not part of the public API.

use std::io;

pub use serde_json::ser::Formatter;
pub use std::io::Write;

pub use crate::field::{Field, GroupField, LabeledField, Shape, UnlabeledField, ValueField};
pub use crate::json::JsonFormat;
pub use crate::schema::build::{assert_unique_names, field, group, metric_count, FieldSpec};
pub use crate::schema::{GroupSchema, MetricKind, SchemaField};
pub use crate::{MetricsGroup, Visitor};

/// The result of generated JSON writers.
pub type IoResult = io::Result<()>;

/// The schema of a type whose derive failed; only ever seen in code that does not compile.
pub static FALLBACK_SCHEMA: GroupSchema = group("<invalid>", &[]);

/// Writes one skipped field as an object member, through its `serde::Serialize`.
#[inline]
pub fn json_serialized_field<W, F, T>(
    writer: &mut W,
    format: &mut F,
    first: bool,
    quoted_key: &str,
    compact: &str,
    value: &T,
) -> IoResult
where
    W: ?Sized + Write,
    F: JsonFormat,
    T: ?Sized + serde::Serialize,
{
    format.member(writer, first, quoted_key, compact)?;
    format.serialize(writer, value)?;
    format.end_object_value(writer)
}

/// Requires `kind`/`unit` to be on a metric value.
pub fn value_field<T: ?Sized + ValueField>() {}
/// Requires `label` to be on a map.
pub fn labeled_field<T: ?Sized + LabeledField>() {}
/// Requires a map to have a `label`.
pub fn unlabeled_field<T: ?Sized + UnlabeledField>() {}
/// Requires `flatten` to be on a group.
pub fn group_field<T: ?Sized + GroupField>() {}
