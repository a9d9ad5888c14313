//! [`ExponentialHistogram`]: OpenTelemetry's base-2 exponential histogram, which needs no
//! bucket tuning: it starts at the finest scale and lowers it as the range of values grows.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::atomic::AtomicF64;
use super::exponential_snapshot::serialize_exponential;
pub use super::exponential_snapshot::ExponentialHistogramSnapshot;
use super::mapping::{map_to_index, MAX_SCALE, MIN_SCALE};
use crate::json::JsonFormat;
use crate::labels::LabelValue;
use crate::schema::ValueType;
use crate::{
    ExponentialBuckets, ExponentialHistogramPoint, MetricValue, Number, PointValue, Visitor,
};

/// The most buckets per sign a histogram may be given: its counts are copied onto the stack
/// when it is read or rescaled.
pub const MAX_EXPONENTIAL_BUCKETS: usize = 512;

/// A base-2 exponential histogram (OpenTelemetry's data model, "Exponential Buckets"): 160
/// buckets per sign by default, a zero bucket for exact zeros, positive and negative ranges
/// sharing one scale. It starts at scale 20 (the finest) and lowers the scale by as much as
/// needed when a value falls outside the buckets' range, merging neighbouring buckets, so
/// the relative error stays as small as the range recorded allows (at most `2^(2^-scale) - 1`).
///
/// As a field of a `#[derive(MetricsGroup)]` struct it is an exponential-histogram metric
/// (OTLP ExponentialHistogram; Prometheus gets it as explicit `le` buckets, see the
/// `prometheus` module).
///
/// Concurrency: a record whose bucket is in the current window increments it with one
/// relaxed atomic add under a *shared* lock (`RwLock::read`: an atomic operation, never
/// waiting on other recorders); only a record outside the window takes the lock exclusively,
/// for the short time it takes to move or merge at most `2 × max_size` counters, which
/// happens a few times over a histogram's life (each rescale halves the resolution).
/// Sum, minimum and maximum are lock-free atomics. NaN and infinities are not recorded.
///
/// ```
/// use metrics_core::ExponentialHistogram;
///
/// let histogram = ExponentialHistogram::new();
/// for value in [0.001, 1.0, 1000.0, 0.0, -2.0] {
///     histogram.record(value);
/// }
/// let snapshot = histogram.snapshot();
/// assert_eq!(snapshot.count, 5);
/// assert_eq!(snapshot.zero_count, 1);
/// assert!(snapshot.scale < 20); // six decades do not fit 160 buckets at scale 20
/// ```
#[derive(Debug)]
pub struct ExponentialHistogram {
    max_size: usize,
    layout: RwLock<Layout>,
    positive: Box<[AtomicU64]>,
    negative: Box<[AtomicU64]>,
    zero: AtomicU64,
    sum: AtomicF64,
    min: AtomicF64,
    max: AtomicF64,
}

/// Where the bucket windows are: the scale and, per sign, the index of the first counter
/// (`None` before the sign's first value).
#[derive(Clone, Copy, Debug)]
struct Layout {
    scale: i32,
    starts: [Option<i32>; 2],
}

const POSITIVE: usize = 0;
const NEGATIVE: usize = 1;

impl ExponentialHistogram {
    /// The default number of buckets per sign, OpenTelemetry's default.
    pub const DEFAULT_MAX_SIZE: usize = 160;

    /// A histogram with 160 buckets per sign.
    pub fn new() -> Self {
        ExponentialHistogram::with_max_size(Self::DEFAULT_MAX_SIZE)
    }

    /// A histogram with `max_size` buckets per sign, clamped to `4..=512`
    /// ([`MAX_EXPONENTIAL_BUCKETS`]): more buckets keep a finer scale over a wider range.
    pub fn with_max_size(max_size: usize) -> Self {
        let max_size = max_size.clamp(4, MAX_EXPONENTIAL_BUCKETS);
        let buckets = || (0..max_size).map(|_| AtomicU64::new(0)).collect();
        ExponentialHistogram {
            max_size,
            layout: RwLock::new(Layout {
                scale: MAX_SCALE,
                starts: [None, None],
            }),
            positive: buckets(),
            negative: buckets(),
            zero: AtomicU64::new(0),
            sum: AtomicF64::new(0.0),
            min: AtomicF64::new(f64::INFINITY),
            max: AtomicF64::new(f64::NEG_INFINITY),
        }
    }

    /// Records one value; NaN and infinities are ignored.
    pub fn record(&self, value: f64) {
        if !value.is_finite() {
            return;
        }
        if value == 0.0 {
            self.zero.fetch_add(1, Ordering::Relaxed);
        } else {
            let sign = if value > 0.0 { POSITIVE } else { NEGATIVE };
            let magnitude = value.abs();
            if !self.add_in_window(sign, magnitude) {
                self.add_rescaling(sign, magnitude);
            }
        }
        self.sum.add(value);
        self.min.min(value);
        self.max.max(value);
    }

    /// Records a duration in seconds.
    pub fn record_duration(&self, duration: Duration) {
        self.record(duration.as_secs_f64());
    }

    fn buckets(&self, sign: usize) -> &[AtomicU64] {
        if sign == POSITIVE {
            &self.positive
        } else {
            &self.negative
        }
    }

    /// The hot path: the bucket is in the window; a shared lock keeps the window still.
    #[inline]
    fn add_in_window(&self, sign: usize, magnitude: f64) -> bool {
        let layout = self.layout.read().unwrap_or_else(PoisonError::into_inner);
        let Some(start) = layout.starts[sign] else {
            return false;
        };
        let offset = i64::from(map_to_index(magnitude, layout.scale)) - i64::from(start);
        match usize::try_from(offset)
            .ok()
            .and_then(|o| self.buckets(sign).get(o))
        {
            Some(bucket) => {
                bucket.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// The rare path: moves the window, lowering the scale as far as needed, then counts.
    fn add_rescaling(&self, sign: usize, magnitude: f64) {
        let mut layout = self.layout.write().unwrap_or_else(PoisonError::into_inner);
        let index = map_to_index(magnitude, layout.scale);
        let (low, high) = match self.occupied(sign, &layout) {
            Some((low, high)) => (low.min(index), high.max(index)),
            None => (index, index),
        };
        // The smallest scale reduction that fits [low, high] into the window.
        let mut change = 0;
        while i64::from(high >> change) - i64::from(low >> change) >= self.max_size as i64
            && layout.scale - change > MIN_SCALE
        {
            change += 1;
        }
        if change > 0 {
            layout.scale -= change;
            // Both signs share the scale: merge the other's buckets too.
            self.rebuild(1 - sign, &mut layout, change, None);
        }
        self.rebuild(sign, &mut layout, change, Some(index >> change));
        let start = layout.starts[sign].unwrap_or(index >> change);
        let offset = usize::try_from((index >> change) - start).unwrap_or(0);
        if let Some(bucket) = self.buckets(sign).get(offset) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The first and last non-empty bucket indexes of a sign, at the layout's scale.
    fn occupied(&self, sign: usize, layout: &Layout) -> Option<(i32, i32)> {
        let start = layout.starts[sign]?;
        let buckets = self.buckets(sign);
        let first = buckets
            .iter()
            .position(|b| b.load(Ordering::Relaxed) != 0)?;
        let last = buckets
            .iter()
            .rposition(|b| b.load(Ordering::Relaxed) != 0)?;
        Some((start + first as i32, start + last as i32))
    }

    /// Re-places a sign's counts after a scale reduction of `change` (indexes halved
    /// `change` times, merging buckets), in a window centred on its range and on `also`
    /// (an index about to be counted). Runs under the exclusive lock.
    fn rebuild(&self, sign: usize, layout: &mut Layout, change: i32, also: Option<i32>) {
        let buckets = self.buckets(sign);
        let mut counts = [0u64; MAX_EXPONENTIAL_BUCKETS];
        let mut low = also;
        let mut high = also;
        let mut moved = [(0i32, 0u64); MAX_EXPONENTIAL_BUCKETS];
        let mut n = 0;
        if let Some(start) = layout.starts[sign] {
            for (i, bucket) in buckets.iter().enumerate() {
                let count = bucket.swap(0, Ordering::Relaxed);
                if count != 0 {
                    let index = (start + i as i32) >> change;
                    low = Some(low.map_or(index, |l| l.min(index)));
                    high = Some(high.map_or(index, |h| h.max(index)));
                    moved[n] = (index, count);
                    n += 1;
                }
            }
        }
        let (Some(low), Some(high)) = (low, high) else {
            return;
        };
        let spare = self.max_size as i32 - (high - low + 1);
        let start = low - spare.max(0) / 2;
        for &(index, count) in &moved[..n] {
            counts[(index - start) as usize] += count;
        }
        for (bucket, &count) in buckets.iter().zip(&counts[..self.max_size]) {
            bucket.store(count, Ordering::Relaxed);
        }
        layout.starts[sign] = Some(start);
    }

    /// Calls `f` with the current state, read into stack arrays under the shared lock.
    fn with_point<R>(&self, f: impl FnOnce(&ExponentialHistogramPoint<'_>) -> R) -> R {
        let layout = self.layout.read().unwrap_or_else(PoisonError::into_inner);
        let mut positive = [0u64; MAX_EXPONENTIAL_BUCKETS];
        let mut negative = [0u64; MAX_EXPONENTIAL_BUCKETS];
        let (positive, positive_total) = self.read_sign(POSITIVE, &layout, &mut positive);
        let (negative, negative_total) = self.read_sign(NEGATIVE, &layout, &mut negative);
        let zero_count = self.zero.load(Ordering::Relaxed);
        let count = zero_count
            .wrapping_add(positive_total)
            .wrapping_add(negative_total);
        let recorded = |v: f64| v.is_finite().then_some(v).filter(|_| count > 0);
        f(&ExponentialHistogramPoint {
            scale: layout.scale,
            zero_count,
            zero_threshold: 0.0,
            positive,
            negative,
            count,
            sum: self.sum.load(),
            min: recorded(self.min.load()),
            max: recorded(self.max.load()),
        })
    }

    /// A sign's non-empty range of buckets, copied into `out`, and its total.
    fn read_sign<'a>(
        &self,
        sign: usize,
        layout: &Layout,
        out: &'a mut [u64; MAX_EXPONENTIAL_BUCKETS],
    ) -> (ExponentialBuckets<'a>, u64) {
        let mut first = None;
        let mut last = 0;
        let mut total = 0u64;
        for (i, bucket) in self.buckets(sign).iter().enumerate() {
            let count = bucket.load(Ordering::Relaxed);
            out[i] = count;
            if count != 0 {
                first.get_or_insert(i);
                last = i;
                total = total.wrapping_add(count);
            }
        }
        match (first, layout.starts[sign]) {
            (Some(first), Some(start)) => (
                ExponentialBuckets {
                    offset: start + first as i32,
                    counts: &out[first..=last],
                },
                total,
            ),
            _ => (
                ExponentialBuckets {
                    offset: 0,
                    counts: &[],
                },
                0,
            ),
        }
    }

    /// A copy of the current state, for snapshot structs and tests.
    pub fn snapshot(&self) -> ExponentialHistogramSnapshot {
        self.with_point(ExponentialHistogramSnapshot::from_point)
    }
}

impl Default for ExponentialHistogram {
    fn default() -> Self {
        ExponentialHistogram::new()
    }
}

/// The same JSON as [`ExponentialHistogramSnapshot`], written from the stack.
impl Serialize for ExponentialHistogram {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_point(|point| serialize_exponential(point, serializer))
    }
}

impl MetricValue for ExponentialHistogram {
    const VALUE_TYPE: ValueType = ValueType::ExponentialHistogram;

    fn metric_value(&self) -> Option<Number> {
        None
    }

    fn visit_point(&self, labels: &[LabelValue<'_>], visitor: &mut dyn Visitor) {
        self.with_point(|point| visitor.point(labels, PointValue::ExponentialHistogram(point)));
    }

    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        format.serialize(writer, self)
    }
}
