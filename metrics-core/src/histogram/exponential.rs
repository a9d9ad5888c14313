//! [`ExponentialHistogram`]: OpenTelemetry's base-2 exponential histogram, which needs no
//! bucket tuning: it starts at the finest scale and lowers it as the range of values grows.

use std::fmt;
use std::io;
use std::sync::atomic::{fence, AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use serde::{Serialize, Serializer};
use thread_local::ThreadLocal;

use super::exponential_snapshot::serialize_exponential;
pub use super::exponential_snapshot::ExponentialHistogramSnapshot;
use super::mapping::{map_to_index, MAX_SCALE};
use super::shard::{Moments, Tally, Totals};
use super::window::{Window, NEGATIVE, POSITIVE};
use crate::json::JsonFormat;
use crate::labels::LabelValue;
use crate::schema::ValueType;
use crate::{ExponentialHistogramPoint, MetricValue, Number, PointValue, Visitor};

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
/// Concurrency: as with [`Histogram`](crate::Histogram), each recording thread gets its
/// own buckets the first time it records (`2 × max_size` words, kept until the histogram is
/// dropped), so a record takes no lock, allocates nothing and executes no locked
/// instruction. When a value falls outside its thread's buckets, that thread alone lowers
/// its scale or moves its window (a few times over a histogram's life: each rescale halves
/// the resolution), marking the move with a version number so that a read never sees
/// buckets half moved. A read merges the threads' buckets at the finest scale that fits
/// them all, which is the scale one histogram fed every value would have. NaN and
/// infinities are not recorded.
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
pub struct ExponentialHistogram {
    max_size: usize,
    shards: ThreadLocal<Shard>,
}

/// One thread's buckets. Only the owning thread writes; `version` is odd while it moves the
/// buckets (a new scale or window), so that a reader can tell a copy taken meanwhile.
struct Shard {
    version: AtomicU64,
    scale: AtomicI32,
    /// Per sign, the index of the first counter, or [`EMPTY`].
    starts: [AtomicI32; 2],
    buckets: [Box<[Tally]>; 2],
    zero: Tally,
    moments: Moments,
}

/// A sign's start before its first value: no index is this far from any other.
const EMPTY: i32 = i32::MIN;

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
        ExponentialHistogram {
            max_size: max_size.clamp(4, MAX_EXPONENTIAL_BUCKETS),
            shards: ThreadLocal::new(),
        }
    }

    /// Records one value; NaN and infinities are ignored.
    #[inline]
    pub fn record(&self, value: f64) {
        if !value.is_finite() {
            return;
        }
        let shard = self.shards.get_or(|| Shard::new(self.max_size));
        if value == 0.0 {
            shard.zero.bump();
        } else {
            let sign = if value > 0.0 { POSITIVE } else { NEGATIVE };
            let scale = shard.scale.load(Ordering::Relaxed);
            let index = map_to_index(value.abs(), scale);
            let start = shard.starts[sign].load(Ordering::Relaxed);
            match usize::try_from(i64::from(index) - i64::from(start))
                .ok()
                .and_then(|offset| shard.buckets[sign].get(offset))
            {
                Some(bucket) => bucket.bump(),
                None => shard.move_to_fit(sign, index, scale, self.max_size),
            }
        }
        shard.moments.record(value);
    }

    /// Records a duration in seconds.
    pub fn record_duration(&self, duration: Duration) {
        self.record(duration.as_secs_f64());
    }

    /// Calls `f` with every thread's buckets merged, on the stack.
    fn with_point<R>(&self, f: impl FnOnce(&ExponentialHistogramPoint<'_>) -> R) -> R {
        let mut merged = Window::new(self.max_size);
        let mut copy = None;
        let mut zero_count = 0u64;
        let mut totals = Totals::default();
        for (n, shard) in self.shards.iter().enumerate() {
            // The first shard is copied as it is; later ones are merged into it.
            if n == 0 {
                shard.copy_into(&mut merged);
            } else {
                let copy = copy.get_or_insert_with(|| Window::new(self.max_size));
                shard.copy_into(copy);
                merged.merge(copy);
            }
            zero_count = zero_count.wrapping_add(shard.zero.get());
            totals.add(&shard.moments);
        }
        let (positive, positive_total) = merged.buckets(POSITIVE);
        let (negative, negative_total) = merged.buckets(NEGATIVE);
        let count = zero_count
            .wrapping_add(positive_total)
            .wrapping_add(negative_total);
        f(&ExponentialHistogramPoint {
            scale: merged.scale,
            zero_count,
            zero_threshold: 0.0,
            positive,
            negative,
            count,
            sum: totals.sum,
            min: totals.min(count),
            max: totals.max(count),
        })
    }

    /// A copy of the current state, for snapshot structs and tests.
    pub fn snapshot(&self) -> ExponentialHistogramSnapshot {
        self.with_point(ExponentialHistogramSnapshot::from_point)
    }
}

impl Shard {
    fn new(max_size: usize) -> Self {
        let buckets = || (0..max_size).map(|_| Tally::default()).collect();
        Shard {
            version: AtomicU64::new(0),
            scale: AtomicI32::new(MAX_SCALE),
            starts: [AtomicI32::new(EMPTY), AtomicI32::new(EMPTY)],
            buckets: [buckets(), buckets()],
            zero: Tally::default(),
            moments: Moments::default(),
        }
    }

    /// The rare path, on the owning thread: counts bucket `index` (at `scale`, the shard's)
    /// after moving the buckets to a window (and a lower scale if need be) that holds it.
    #[cold]
    fn move_to_fit(&self, sign: usize, index: i32, scale: i32, max_size: usize) {
        let mut window = Window::new(max_size);
        self.read_into(&mut window);
        window.add(sign, index, scale, 1);
        // A seqlock's write side: odd while the buckets move, even again after.
        let version = self.version.load(Ordering::Relaxed);
        self.version
            .store(version.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        self.scale.store(window.scale, Ordering::Relaxed);
        for sign in [POSITIVE, NEGATIVE] {
            let start = window.starts[sign].unwrap_or(EMPTY);
            self.starts[sign].store(start, Ordering::Relaxed);
            for (bucket, &count) in self.buckets[sign].iter().zip(&window.counts[sign]) {
                bucket.set(count);
            }
        }
        self.version
            .store(version.wrapping_add(2), Ordering::Release);
    }

    /// A consistent copy of the buckets, from any thread: retried while the owner moves
    /// them (a short, rare and finite state: a shard moves a few hundred times at most).
    fn copy_into(&self, window: &mut Window) {
        loop {
            let before = self.version.load(Ordering::Acquire);
            if before % 2 == 0 {
                self.read_into(window);
                fence(Ordering::Acquire);
                if self.version.load(Ordering::Relaxed) == before {
                    return;
                }
            }
            std::thread::yield_now();
        }
    }

    fn read_into(&self, window: &mut Window) {
        window.scale = self.scale.load(Ordering::Relaxed);
        for sign in [POSITIVE, NEGATIVE] {
            let start = self.starts[sign].load(Ordering::Relaxed);
            window.starts[sign] = (start != EMPTY).then_some(start);
            for (count, bucket) in window.counts[sign]
                .iter_mut()
                .zip(self.buckets[sign].iter())
            {
                *count = bucket.get();
            }
        }
    }
}

impl fmt::Debug for ExponentialHistogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_point(|point| {
            f.debug_struct("ExponentialHistogram")
                .field("scale", &point.scale)
                .field("count", &point.count)
                .field("sum", &point.sum)
                .finish()
        })
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
