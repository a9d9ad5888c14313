//! The surface generated code calls; not part of the public API.

use std::io;

pub use serde_json::ser::Formatter;
pub use std::io::Write;

pub use crate::field::{Field, MapKeys, Shape, SkippedField};
pub use crate::json::JsonFormat;
pub use crate::labels::json_key::SerdeKey;
pub use crate::labels::{JsonKey, LabelSet, LabelValue, ToLabelValue};
pub use crate::prometheus::collisions::{claims_capacity, prometheus_name_collision};
pub use crate::schema::build::{
    duplicate_name, fields, group, metric_count, name_too_long, FieldSpec, Message,
};
pub use crate::schema::{GroupSchema, MetricKind, SchemaField};
pub use crate::time::{PointTimes, TimeField};
pub use crate::{MetricsGroup, Visitor};

/// The result of generated JSON writers.
pub type IoResult = io::Result<()>;

/// The schema of a type whose derive failed; only ever seen in code that does not compile.
pub static FALLBACK_SCHEMA: GroupSchema = group("<invalid>", &[]);
