//! Delta temporality: counters' and histograms' points as the change since the previous
//! snapshot, per series (metric and label value), by a [`Visitor`] between the group's visit
//! and the encoder; a histogram's bucket by bucket (see `histogram_delta`).
//!
//! A series seen for the first time sends its whole value; one that went down was reset and
//! sends its new value; one that vanished is forgotten (were it to come back, it would be new).
//! Every delta point starts at the previous snapshot's time (at the first, the context's start
//! time), so consecutive points cover consecutive intervals, a reset's included.

use std::collections::HashMap;

use super::context::RequestTimes;
use super::histogram_delta::{self, ExplicitState, ExponentialState, Scratch};
use super::prepared::{DeltaKinds, Prepared, PreparedMetric};
use crate::labels::LabelValue;
use crate::schema::GroupSchema;
use crate::{DynMetricsGroup, Number, PointValue, Visitor};

/// What delta temporality remembers between snapshots of one group type: each counter and
/// histogram series' last value, and the last snapshot's time.
///
/// [`Deltas::default`] makes counters and histograms delta (the `delta` preference);
/// [`Deltas::histograms_only`] histograms only (`lowmemory`).
///
/// Encode with [`encode_protobuf`](Self::encode_protobuf) or
/// [`encode_json`](Self::encode_json), which also remember the snapshot. To forget a snapshot
/// that was not delivered (so that the next delta covers its interval too), encode from a
/// clone and keep the clone only once delivered.
///
/// ```
/// use metrics_core::otlp::{Deltas, OtlpContext};
/// use metrics_core::MetricsGroup;
/// use std::time::{Duration, UNIX_EPOCH};
///
/// #[derive(MetricsGroup)]
/// struct Jobs {
///     #[metric(counter)]
///     done: u64,
/// }
///
/// let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let mut context = OtlpContext::new([("service.name", "jobs")], start);
/// let mut deltas = Deltas::default();
/// let mut body = Vec::new();
/// for (done, second) in [(5, 10), (8, 20), (2, 30)] {
///     context.set_time(start + Duration::from_secs(second));
///     body.clear();
///     deltas.encode_json(&Jobs { done }, &context, &mut body);
/// }
/// let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
/// let sum = &request["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["sum"];
/// assert_eq!(sum["aggregationTemporality"], 1); // delta
/// // 8 then 2: a reset, whose delta is the new value, since the previous snapshot.
/// assert_eq!(sum["dataPoints"][0]["asInt"], "2");
/// assert_eq!(sum["dataPoints"][0]["startTimeUnixNano"], "1700000020000000000");
/// ```
#[derive(Debug, Clone)]
pub struct Deltas {
    schema: Option<&'static GroupSchema>,
    kinds: DeltaKinds,
    /// The previous snapshot's time; `None` before the first.
    time: Option<u64>,
    values: HashMap<Series, Last>,
    /// What histogram delta points borrow their buckets from, kept to be reused.
    scratch: Scratch,
}

impl Default for Deltas {
    fn default() -> Self {
        Deltas::with_kinds(DeltaKinds {
            counters: true,
            histograms: true,
        })
    }
}

/// A series: its metric's index in the schema and its label values.
type Series = (usize, Box<[OwnedLabel]>);

/// A series' previous cumulative value.
#[derive(Clone, Debug)]
enum Last {
    Number(Number),
    Explicit(ExplicitState),
    Exponential(ExponentialState),
}

/// A [`LabelValue`] kept from one snapshot to the next.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum OwnedLabel {
    Str(Box<str>),
    I64(i64),
    Bool(bool),
}

impl From<&LabelValue<'_>> for OwnedLabel {
    fn from(label: &LabelValue<'_>) -> Self {
        match *label {
            LabelValue::Str(s) => OwnedLabel::Str(s.into()),
            LabelValue::I64(v) => OwnedLabel::I64(v),
            LabelValue::Bool(v) => OwnedLabel::Bool(v),
        }
    }
}

impl Deltas {
    /// Histograms delta, counters cumulative: the `lowmemory` preference, under which
    /// synchronous instruments (a group's histograms) are delta and asynchronous counters
    /// (a group's counters, observed totals) cumulative.
    pub fn histograms_only() -> Self {
        Deltas::with_kinds(DeltaKinds {
            counters: false,
            histograms: true,
        })
    }

    fn with_kinds(kinds: DeltaKinds) -> Self {
        Deltas {
            schema: None,
            kinds,
            time: None,
            values: HashMap::new(),
            scratch: Scratch::default(),
        }
    }

    /// Like [`super::encode_protobuf`], with counters as delta Sums and histograms as delta
    /// histograms (as this state's kinds say) since the previous call's snapshot; remembers
    /// this one.
    pub fn encode_protobuf<G>(&mut self, group: &G, context: &super::OtlpContext, out: &mut Vec<u8>)
    where
        G: ?Sized + DynMetricsGroup,
    {
        self.encode(group, context, |times, prepared, delta, visit| {
            super::protobuf::encode(out, context, times, prepared, delta, visit)
        });
    }

    /// Like [`super::encode_json`], with deltas as [`encode_protobuf`](Self::encode_protobuf)
    /// has them; remembers this one.
    pub fn encode_json<G>(&mut self, group: &G, context: &super::OtlpContext, out: &mut Vec<u8>)
    where
        G: ?Sized + DynMetricsGroup,
    {
        self.encode(group, context, |times, prepared, delta, visit| {
            super::json::encode(out, context, times, &prepared.metrics, delta, visit)
        });
    }

    /// Hands `write` the request's times, the group's prepared fragments, the deltas' start
    /// and kinds, and a visit that turns points into deltas; then remembers this snapshot.
    fn encode<G>(
        &mut self,
        group: &G,
        context: &super::OtlpContext,
        write: impl FnOnce(
            RequestTimes,
            &Prepared,
            Option<(u64, DeltaKinds)>,
            &mut dyn FnMut(&mut dyn Visitor),
        ),
    ) where
        G: ?Sized + DynMetricsGroup,
    {
        let prepared = super::prepared::prepared(group.schema());
        let times = context.times(group.point_times());
        let start = self.begin(group.schema(), times.start_time_unix_nano);
        let delta = Some((start, self.kinds));
        write(times, prepared, delta, &mut |visitor| {
            self.visit(group, &prepared.metrics, visitor)
        });
        self.time = Some(times.time_unix_nano);
    }

    /// Whether this state is of `schema`'s group type (or of none yet).
    pub fn is_for(&self, schema: &'static GroupSchema) -> bool {
        self.schema.is_some_and(|s| std::ptr::eq(s, schema))
    }

    /// Whether two states are of the same group type.
    pub fn same_group(&self, other: &Deltas) -> bool {
        match (self.schema, other.schema) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            _ => false,
        }
    }

    /// The deltas' start time; forgets everything if `schema` is another group type's.
    fn begin(&mut self, schema: &'static GroupSchema, first_start: u64) -> u64 {
        if !self.is_for(schema) {
            *self = Deltas {
                schema: Some(schema),
                ..Deltas::with_kinds(self.kinds)
            };
        }
        self.time.unwrap_or(first_start)
    }

    fn visit<G>(&mut self, group: &G, metrics: &[PreparedMetric], visitor: &mut dyn Visitor)
    where
        G: ?Sized + DynMetricsGroup,
    {
        let mut delta = DeltaVisitor {
            inner: visitor,
            metrics,
            kinds: self.kinds,
            cursor: 0,
            previous: std::mem::take(&mut self.values),
            next: HashMap::new(),
            scratch: &mut self.scratch,
        };
        group.visit_metrics(&mut delta);
        // Series not visited this time are dropped with `previous`.
        self.values = delta.next;
    }
}

struct DeltaVisitor<'a> {
    inner: &'a mut dyn Visitor,
    metrics: &'a [PreparedMetric],
    kinds: DeltaKinds,
    cursor: usize,
    previous: HashMap<Series, Last>,
    next: HashMap<Series, Last>,
    scratch: &'a mut Scratch,
}

impl Visitor for DeltaVisitor<'_> {
    fn point(&mut self, labels: &[LabelValue<'_>], value: PointValue<'_>) {
        let is_delta = self
            .metrics
            .get(self.cursor)
            .is_some_and(|m| m.is_delta(self.kinds));
        if !is_delta {
            return self.inner.point(labels, value);
        }
        let series: Series = (self.cursor, labels.iter().map(OwnedLabel::from).collect());
        // Taken out: its buffers are reused for this snapshot's state.
        let previous = self.previous.remove(&series);
        let last = match value {
            PointValue::Number(value) => {
                let previous = match previous {
                    Some(Last::Number(previous)) => Some(previous),
                    _ => None,
                };
                self.inner
                    .point(labels, PointValue::Number(delta(previous, value)));
                Last::Number(value)
            }
            PointValue::Histogram(point) => {
                let (mut state, is_new) = match previous {
                    Some(Last::Explicit(state)) => (state, false),
                    _ => (ExplicitState::default(), true),
                };
                match histogram_delta::explicit(&mut state, is_new, point, self.scratch) {
                    Some(delta) => self.inner.point(labels, PointValue::Histogram(&delta)),
                    None => self.inner.point(labels, value),
                }
                Last::Explicit(state)
            }
            PointValue::ExponentialHistogram(point) => {
                let (mut state, is_new) = match previous {
                    Some(Last::Exponential(state)) => (state, false),
                    _ => (ExponentialState::default(), true),
                };
                match histogram_delta::exponential(&mut state, is_new, point, self.scratch) {
                    Some(delta) => self
                        .inner
                        .point(labels, PointValue::ExponentialHistogram(&delta)),
                    None => self.inner.point(labels, value),
                }
                Last::Exponential(state)
            }
        };
        self.next.insert(series, last);
    }

    fn advance(&mut self, metrics: usize) {
        self.cursor = self.cursor.saturating_add(metrics);
        self.inner.advance(metrics);
    }
}

/// The change from `previous` to `current`; the whole of `current` for a new series or a reset
/// (a counter that went down), or when the two cannot be compared (NaN, another type).
fn delta(previous: Option<Number>, current: Number) -> Number {
    match (previous, current) {
        (Some(Number::U64(p)), Number::U64(c)) if c >= p => Number::U64(c - p),
        (Some(Number::I64(p)), Number::I64(c)) if c >= p => {
            c.checked_sub(p).map_or(current, Number::I64)
        }
        (Some(Number::F64(p)), Number::F64(c)) if c >= p => Number::F64(c - p),
        _ => current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_resets_and_new_series() {
        use Number::{F64, I64, U64};
        let cases = [
            (None, U64(7), U64(7)),
            (Some(U64(5)), U64(7), U64(2)),
            (Some(U64(5)), U64(5), U64(0)),
            (Some(U64(9)), U64(3), U64(3)),
            (Some(I64(-5)), I64(5), I64(10)),
            (Some(I64(i64::MIN)), I64(i64::MAX), I64(i64::MAX)),
            (Some(F64(1.5)), F64(4.0), F64(2.5)),
            (Some(F64(f64::NAN)), F64(4.0), F64(4.0)),
            (Some(U64(1)), F64(4.0), F64(4.0)),
        ];
        for (previous, current, want) in cases {
            assert_eq!(
                delta(previous, current),
                want,
                "{previous:?} -> {current:?}"
            );
        }
    }
}
