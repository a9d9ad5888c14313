//! [`Histogram`]: explicit buckets, recorded lock-free from any number of threads.

use std::fmt;
use std::io;
use std::time::Duration;

use metrics_rules::{check_buckets, BucketsProblem, MAX_BUCKETS};
use serde::{Serialize, Serializer};
use thread_local::ThreadLocal;

use super::shard::{Moments, Tally, Totals};
use super::snapshot::{serialize_histogram, HistogramSnapshot};
use crate::json::JsonFormat;
use crate::labels::LabelValue;
use crate::schema::ValueType;
use crate::{HistogramPoint, MetricValue, Number, PointValue, Visitor};

/// A histogram with explicit bucket bounds, for hot paths: [`record`](Histogram::record)
/// takes no lock, allocates nothing and executes no locked instruction. Each thread that
/// records gets its own counters the first time it does (one allocation of `bounds + 1`
/// words, kept until the histogram is dropped; a thread's first use of any histogram also
/// takes `thread_local`'s id lock once), so a record is a few plain loads and stores in
/// memory no other recorder writes, and threads never contend; a read adds the threads'
/// counters up.
///
/// As a field of a `#[derive(MetricsGroup)]` struct it is a histogram metric (OTLP
/// Histogram, Prometheus `histogram`). Its bounds are given once, in the attribute, and the
/// derive makes them a constant of the struct, `<FIELD>_BUCKETS`, to build the histogram
/// with; without `buckets` the field has [`Histogram::DEFAULT_BOUNDS`]:
///
/// ```
/// use metrics_core::{Histogram, MetricsGroup};
/// use std::time::Duration;
///
/// #[derive(MetricsGroup, serde::Serialize)]
/// struct Api {
///     /// Request latency.
///     #[metric(unit = "s", buckets = [0.01, 0.1, 1.0])]
///     latency: Histogram,
///     /// Response size, with the default bounds.
///     #[metric(unit = "By")]
///     size: Histogram,
/// }
///
/// let api = Api { latency: Histogram::with_bounds(Api::LATENCY_BUCKETS)?, size: Histogram::new() };
/// api.latency.record_duration(Duration::from_millis(42));
/// api.latency.record(0.005);
/// let snapshot = api.latency.snapshot();
/// assert_eq!(snapshot.bucket_counts, [1, 1, 0, 0]);
/// let schema = Api::SCHEMA.metrics().next().unwrap();
/// assert_eq!(schema.descriptor.buckets, [0.01, 0.1, 1.0]);
/// # Ok::<(), metrics_core::BucketsProblem>(())
/// ```
///
/// Bucket `i` counts the values `v` with `bounds[i - 1] < v <= bounds[i]` (Prometheus' `le`
/// and OpenTelemetry's rule); the last bucket everything above the last bound. NaN and
/// infinite values are not recorded: one would make the cumulative sum meaningless forever.
/// A read (export) sees each bucket as it is; its count is the sum of the buckets it read,
/// so a point is always consistent, and the sum may include a record whose bucket it missed.
pub struct Histogram {
    bounds: &'static [f64],
    shards: ThreadLocal<Shard>,
}

/// One thread's counters.
struct Shard {
    /// One more than the bounds: the last is the `+Inf` bucket.
    counts: Box<[Tally]>,
    moments: Moments,
}

impl Histogram {
    /// The bounds of a histogram without `buckets`: Prometheus' default buckets, made for
    /// latencies in seconds (what [`record_duration`](Histogram::record_duration) records)
    /// from 5 ms to 10 s. OpenTelemetry's default (`0, 5, 10, ..., 10000`) is made for
    /// milliseconds, which would put every latency in seconds into the first bucket.
    pub const DEFAULT_BOUNDS: &'static [f64] = &[
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];

    /// A histogram with [`DEFAULT_BOUNDS`](Histogram::DEFAULT_BOUNDS).
    pub fn new() -> Self {
        Histogram::build(Histogram::DEFAULT_BOUNDS)
    }

    /// A histogram with `bounds`: finite, strictly increasing, at least one and at most
    /// [`metrics_rules::MAX_BUCKETS`]. For a struct field, pass the constant the derive makes
    /// of its `buckets` (`Api::LATENCY_BUCKETS`), so that the schema and the data agree.
    pub fn with_bounds(bounds: &'static [f64]) -> Result<Self, BucketsProblem> {
        check_buckets(bounds)?;
        Ok(Histogram::build(bounds))
    }

    fn build(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            shards: ThreadLocal::new(),
        }
    }

    /// Records one value; NaN and infinities are ignored.
    #[inline]
    pub fn record(&self, value: f64) {
        if !value.is_finite() {
            return;
        }
        let shard = self.shards.get_or(|| Shard {
            counts: (0..=self.bounds.len()).map(|_| Tally::default()).collect(),
            moments: Moments::default(),
        });
        let index = bucket_index(self.bounds, value);
        if let Some(count) = shard.counts.get(index) {
            count.bump();
        }
        shard.moments.record(value);
    }

    /// Records a duration in seconds.
    #[inline]
    pub fn record_duration(&self, duration: Duration) {
        self.record(duration.as_secs_f64());
    }

    /// The bucket bounds.
    pub fn bounds(&self) -> &'static [f64] {
        self.bounds
    }

    /// A copy of the current state, for snapshot structs and tests.
    pub fn snapshot(&self) -> HistogramSnapshot {
        self.with_point(|point| HistogramSnapshot {
            bounds: point.bounds.to_vec(),
            bucket_counts: point.bucket_counts.to_vec(),
            count: point.count,
            sum: point.sum,
            min: point.min,
            max: point.max,
        })
    }

    /// Calls `f` with the current state, read into a stack array: no allocation.
    #[inline]
    fn with_point<R>(&self, f: impl FnOnce(&HistogramPoint<'_>) -> R) -> R {
        let mut counts = [0u64; MAX_BUCKETS + 1];
        let counts = &mut counts[..=self.bounds.len()];
        let mut totals = Totals::default();
        for shard in &self.shards {
            for (out, bucket) in counts.iter_mut().zip(shard.counts.iter()) {
                *out = out.wrapping_add(bucket.get());
            }
            totals.add(&shard.moments);
        }
        let count = counts.iter().fold(0u64, |sum, &c| sum.wrapping_add(c));
        f(&HistogramPoint {
            bounds: self.bounds,
            bucket_counts: counts,
            count,
            sum: totals.sum,
            min: totals.min(count),
            max: totals.max(count),
        })
    }
}

/// The first bucket whose bound is at least `value` (bounds are upper-inclusive): for a few
/// bounds, the number below `value`, counted without a branch or a chain of dependent loads
/// (the compiler vectorises it); for many, a binary search.
#[inline]
fn bucket_index(bounds: &[f64], value: f64) -> usize {
    if bounds.len() <= 16 {
        bounds.iter().map(|&bound| usize::from(bound < value)).sum()
    } else {
        bounds.partition_point(|&bound| bound < value)
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_point(|point| {
            f.debug_struct("Histogram")
                .field("bounds", &point.bounds)
                .field("bucket_counts", &point.bucket_counts)
                .field("sum", &point.sum)
                .finish()
        })
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

/// The same JSON as [`HistogramSnapshot`], written from the stack.
impl Serialize for Histogram {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_point(|point| serialize_histogram(point, serializer))
    }
}

impl MetricValue for Histogram {
    const VALUE_TYPE: ValueType = ValueType::Histogram;

    fn metric_value(&self) -> Option<Number> {
        None
    }

    #[inline]
    fn visit_point(&self, labels: &[LabelValue<'_>], visitor: &mut dyn Visitor) {
        self.with_point(|point| visitor.point(labels, PointValue::Histogram(point)));
    }

    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        format.serialize(writer, self)
    }
}
