//! Follows a group's visit with a cursor into its prepared metrics and hands each encoder
//! (protobuf, JSON) the metrics that have points, and their points.

use super::prepared::{NumberValue, PreparedMetric};
use crate::labels::LabelValue;
use crate::{PointValue, Visitor};

/// What an encoder writes for the metrics and points of one request.
pub(super) trait Sink {
    /// A metric with at least one point starts.
    fn begin_metric(&mut self, metric: &PreparedMetric);
    /// One of its points, with as many attribute values as the metric has keys (none for a
    /// metric that is not a map), or the overflow attribute.
    fn point(&mut self, metric: &PreparedMetric, attributes: Attributes<'_>, value: NumberValue);
    /// The metric started last ends.
    fn end_metric(&mut self, metric: &PreparedMetric);
}

/// A point's attributes.
#[derive(Clone, Copy)]
pub(super) enum Attributes<'a> {
    /// Values for the metric's keys, in their order.
    Keys(&'a [LabelValue<'a>]),
    /// A capped family's overflow point: `otel.metric.overflow = true` alone.
    Overflow,
}

/// The overflow point's attribute value, for [`Attributes::Overflow`].
pub(super) const OVERFLOW_VALUES: [LabelValue<'static>; 1] = [LabelValue::Bool(true)];

/// Hands `sink` every metric of `metrics` that gets a point OTLP can carry from `visit`: a
/// metric without one (absent, `None`, an empty map, only NaN) is left out, as OTLP has no
/// use for a metric without points.
pub(super) fn walk(
    metrics: &[PreparedMetric],
    visit: impl FnOnce(&mut dyn Visitor),
    sink: &mut impl Sink,
) {
    let mut walker = Walker {
        metrics,
        cursor: 0,
        open: false,
        sink,
    };
    visit(&mut walker);
    // A visit that ends without its last `advance` still gets its metric closed.
    walker.close();
}

struct Walker<'a, S> {
    metrics: &'a [PreparedMetric],
    /// The metric the next point belongs to (see [`Visitor`]).
    cursor: usize,
    /// Whether the sink has begun the metric at the cursor.
    open: bool,
    sink: &'a mut S,
}

impl<S: Sink> Walker<'_, S> {
    fn close(&mut self) {
        if self.open {
            self.open = false;
            self.sink.end_metric(&self.metrics[self.cursor]);
        }
    }
}

impl<S: Sink> Walker<'_, S> {
    #[inline]
    fn emit(&mut self, attributes: Attributes<'_>, value: PointValue<'_>) {
        // A visit with more points than its schema has metrics: nothing to name them by.
        let Some(metric) = self.metrics.get(self.cursor) else {
            return;
        };
        let PointValue::Number(value) = value else {
            return;
        };
        let Some(value) = NumberValue::new(metric.value_type, value) else {
            return;
        };
        if !self.open {
            self.open = true;
            self.sink.begin_metric(metric);
        }
        self.sink.point(metric, attributes, value);
    }
}

impl<S: Sink> Visitor for Walker<'_, S> {
    #[inline]
    fn point(&mut self, labels: &[LabelValue<'_>], value: PointValue<'_>) {
        // Attributes without a key in the schema (a hand-written visit) are left out.
        let keys = self.metrics.get(self.cursor).map_or(0, |m| m.label_keys);
        let labels = labels.get(..keys).unwrap_or(labels);
        self.emit(Attributes::Keys(labels), value);
    }

    fn overflow_point(&mut self, value: PointValue<'_>) {
        self.emit(Attributes::Overflow, value);
    }

    fn advance(&mut self, metrics: usize) {
        self.close();
        self.cursor = self.cursor.saturating_add(metrics);
    }
}
