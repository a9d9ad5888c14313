//! Follows a group's visit with a cursor into its prepared metrics and hands each encoder
//! (protobuf, JSON) the metrics that have points, and their points.

use super::prepared::{Data, NumberValue, PreparedMetric};
use crate::labels::LabelValue;
use crate::{ExponentialHistogramPoint, HistogramPoint, Number, PointValue, Visitor};

/// A histogram point as OTLP carries it.
#[derive(Clone, Copy)]
pub(super) enum Distribution<'a> {
    /// A `HistogramDataPoint`'s distribution.
    Histogram(&'a HistogramPoint<'a>),
    /// An `ExponentialHistogramDataPoint`'s distribution.
    Exponential(&'a ExponentialHistogramPoint<'a>),
}

/// A point's attributes.
#[derive(Clone, Copy)]
pub(super) enum Attributes<'a> {
    /// Values for the metric's keys, in their order.
    Keys(&'a [LabelValue<'a>]),
    /// A capped family's overflow point: `otel.metric.overflow = true` alone.
    Overflow,
}

impl<'a> Attributes<'a> {
    /// Each attribute's prepared key (one of `keys`, or `overflow_key`) with its value.
    #[inline]
    pub(super) fn pairs<K: AsRef<[u8]>>(
        self,
        keys: &'a [K],
        overflow_key: &'static [u8],
    ) -> impl Iterator<Item = (&'a [u8], LabelValue<'a>)> + Clone {
        let (labels, overflow) = match self {
            Attributes::Keys(labels) => (labels, false),
            Attributes::Overflow => (&[][..], true),
        };
        let keys = keys.iter().map(AsRef::as_ref).zip(labels.iter().copied());
        keys.chain(overflow.then_some((overflow_key, LabelValue::Bool(true))))
    }

    /// Whether there are none.
    pub(super) fn is_empty(self) -> bool {
        matches!(self, Attributes::Keys([]))
    }
}

/// What an encoder writes for the metrics and points of one request.
pub(super) trait Sink {
    /// A metric with at least one point starts.
    fn begin_metric(&mut self, metric: &PreparedMetric);
    /// One of its points, a Gauge's or Sum's number, with as many attribute values as the
    /// metric has keys (none for a metric that is not a map), or the overflow attribute.
    fn number_point(
        &mut self,
        metric: &PreparedMetric,
        attributes: Attributes<'_>,
        value: NumberValue,
    );
    /// One of its points, a histogram's, with its attributes as for a number.
    fn distribution_point(
        &mut self,
        metric: &PreparedMetric,
        attributes: Attributes<'_>,
        value: Distribution<'_>,
    );
    /// The metric started last ends.
    fn end_metric(&mut self, metric: &PreparedMetric);
}

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

impl<'a, S: Sink> Walker<'a, S> {
    /// The metric the next point belongs to; none for a visit with more points than its
    /// schema has metrics, which has nothing to name them by.
    #[inline]
    fn metric(&self) -> Option<&'a PreparedMetric> {
        self.metrics.get(self.cursor)
    }

    /// Begins `metric` at its first point.
    #[inline]
    fn begin(&mut self, metric: &PreparedMetric) {
        if !self.open {
            self.open = true;
            self.sink.begin_metric(metric);
        }
    }

    /// [`emit`](Self::emit) for a number, without the match on the kind of point.
    #[inline]
    fn number(&mut self, attributes: Attributes<'_>, value: Number) {
        let Some(metric) = self.metric().filter(|metric| metric.numeric) else {
            return;
        };
        let Some(value) = NumberValue::new(metric.value_type, value) else {
            return;
        };
        self.begin(metric);
        self.sink.number_point(metric, attributes, value);
    }

    /// Hands the sink a point that fits its metric and that OTLP can carry. Others are left
    /// out: a point of another kind than its metric's (only a hand-written visit gives one),
    /// NaN, a malformed histogram. Attributes beyond the metric's keys are left out by the
    /// sinks, which pair values with keys.
    fn emit(&mut self, attributes: Attributes<'_>, value: PointValue<'_>) {
        let Some(metric) = self.metric() else {
            return;
        };
        let value = match value {
            PointValue::Number(value) => return self.number(attributes, value),
            PointValue::Histogram(point)
                if metric.data == Data::Histogram
                    && point.bucket_counts.len() == point.bounds.len() + 1 =>
            {
                Distribution::Histogram(point)
            }
            PointValue::ExponentialHistogram(point)
                if metric.data == Data::ExponentialHistogram =>
            {
                Distribution::Exponential(point)
            }
            _ => return,
        };
        self.begin(metric);
        self.sink.distribution_point(metric, attributes, value);
    }
}

impl<S: Sink> Visitor for Walker<'_, S> {
    fn point(&mut self, labels: &[LabelValue<'_>], value: PointValue<'_>) {
        self.emit(Attributes::Keys(labels), value);
    }

    #[inline]
    fn number_point(&mut self, labels: &[LabelValue<'_>], value: Number) {
        self.number(Attributes::Keys(labels), value);
    }

    fn overflow_point(&mut self, value: PointValue<'_>) {
        self.emit(Attributes::Overflow, value);
    }

    fn advance(&mut self, metrics: usize) {
        self.close();
        self.cursor = self.cursor.saturating_add(metrics);
    }
}
