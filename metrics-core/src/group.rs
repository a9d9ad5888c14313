//! The [`MetricsGroup`] trait: the one API that `#[derive(MetricsGroup)]` implements and every
//! exporter consumes.

use std::io;

use crate::json::JsonFormat;
use crate::labels::LabelValue;
use crate::schema::GroupSchema;
use crate::time::PointTimes;
use crate::PointValue;

/// A struct whose fields are metrics; implement it with `#[derive(MetricsGroup)]`.
///
/// The schema is static; a value is read by [`visit`](MetricsGroup::visit) (metrics, in schema
/// order) and by [`write_json`](MetricsGroup::write_json) (the whole struct, skipped fields
/// included). Exporters take groups as `&dyn` [`DynMetricsGroup`], which every `MetricsGroup`
/// is.
pub trait MetricsGroup {
    /// The metric descriptors of this type, built at compile time.
    const SCHEMA: &'static GroupSchema;

    /// Hands every metric's points to `visitor`, in the order of [`GroupSchema::metrics`].
    fn visit(&self, visitor: &mut dyn Visitor);

    /// Writes the struct as serde's default derive would, through a serde_json formatter.
    ///
    /// Use the functions of [`crate::json`] rather than calling this directly.
    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat;

    /// The snapshot's own times, from its fields marked `#[metric(timestamp)]` and
    /// `#[metric(start_time)]`; by default none, and the exporter chooses (see
    /// [`PointTimes`]). Only the group handed to an exporter is asked: a nested group's
    /// marked fields are written to the JSON but give no times.
    fn point_times(&self) -> PointTimes {
        PointTimes::default()
    }
}

/// A point's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    /// An unsigned integer (also `bool` as 0 or 1).
    U64(u64),
    /// A signed integer.
    I64(i64),
    /// A float (also `Duration` in seconds). May be NaN or infinite.
    F64(f64),
}

impl Number {
    /// The value as `f64`, for consumers that carry only floats.
    pub fn as_f64(self) -> f64 {
        match self {
            Number::U64(v) => v as f64,
            Number::I64(v) => v as f64,
            Number::F64(v) => v,
        }
    }

    /// The value as `i64`, for consumers that carry signed 64-bit integers (OTLP's `as_int`):
    /// unsigned values above `i64::MAX` saturate to `i64::MAX`; floats truncate, saturating,
    /// as `as` does.
    pub fn as_i64_saturating(self) -> i64 {
        match self {
            Number::U64(v) => i64::try_from(v).unwrap_or(i64::MAX),
            Number::I64(v) => v,
            Number::F64(v) => v as i64,
        }
    }
}

/// Receives a group's values from [`MetricsGroup::visit`].
///
/// Metrics arrive in schema order. For each metric the visitor gets zero or more
/// [`point`](Visitor::point) (or [`number_point`](Visitor::number_point)) calls, then
/// [`advance(1)`](Visitor::advance); an absent nested group (`None`) is a single `advance`
/// over all of its metrics. A visitor that keeps a cursor into [`GroupSchema::metrics`]
/// therefore always knows which metric a point belongs to.
pub trait Visitor {
    /// One point of the current metric. `labels` are its attribute values, in the order of
    /// the metric's [`labels`](crate::schema::MetricDescriptor::labels) keys (empty for a
    /// metric that is not a map); both `labels` and `value` live on the caller's stack.
    fn point(&mut self, labels: &[LabelValue<'_>], value: PointValue<'_>);

    /// A [`point`](Visitor::point) whose value is a [`Number`], as counters, gauges and
    /// up-down counters give: a method of its own so that an encoder's common case takes the
    /// number without the wider [`PointValue`] or a match on the kind of point.
    ///
    /// The default hands it to `point` as [`PointValue::Number`].
    #[inline]
    fn number_point(&mut self, labels: &[LabelValue<'_>], value: Number) {
        self.point(labels, PointValue::Number(value));
    }

    /// The overflow point of the current metric: what a capped [`Family`](crate::Family)
    /// recorded for the keys beyond its cap. It carries one attribute,
    /// [`OVERFLOW_ATTRIBUTE`](crate::family::OVERFLOW_ATTRIBUTE) `= true`, in place of the
    /// metric's keys (OpenTelemetry's convention), so it is a method of its own rather than a
    /// [`point`](Visitor::point) whose values would not match the schema's keys.
    ///
    /// The crate's encoders write the attribute. The default hands the value to `point`
    /// without attributes: a visitor that does not know the convention still counts it.
    fn overflow_point(&mut self, value: PointValue<'_>) {
        self.point(&[], value);
    }

    /// Moves past `metrics` metrics: 1 after each metric, or an absent group's whole count.
    fn advance(&mut self, metrics: usize);
}

/// The object-safe face of [`MetricsGroup`], which exporters take as `&dyn DynMetricsGroup`.
///
/// Implemented for every `MetricsGroup`; there is no reason to implement it by hand.
pub trait DynMetricsGroup: Send + Sync {
    /// The type's static schema.
    fn schema(&self) -> &'static GroupSchema;

    /// See [`MetricsGroup::visit`].
    fn visit_metrics(&self, visitor: &mut dyn Visitor);

    /// Appends the JSON document (compact or pretty) to `out`.
    fn write_json_to(&self, out: &mut Vec<u8>, pretty: bool) -> serde_json::Result<()>;

    /// See [`MetricsGroup::point_times`].
    fn point_times(&self) -> PointTimes {
        PointTimes::default()
    }
}

impl<G: MetricsGroup + Send + Sync> DynMetricsGroup for G {
    fn schema(&self) -> &'static GroupSchema {
        G::SCHEMA
    }

    fn visit_metrics(&self, visitor: &mut dyn Visitor) {
        self.visit(visitor);
    }

    fn point_times(&self) -> PointTimes {
        MetricsGroup::point_times(self)
    }

    fn write_json_to(&self, out: &mut Vec<u8>, pretty: bool) -> serde_json::Result<()> {
        if pretty {
            crate::json::to_writer_pretty(out, self)
        } else {
            crate::json::to_writer(out, self)
        }
    }
}
