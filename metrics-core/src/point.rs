//! What one point of a metric carries: a number, or a histogram's buckets.
//!
//! Points are handed to a [`Visitor`](crate::Visitor) by reference, built on the stack by the
//! field that reads them: a histogram copies its counters into a local array, so that a
//! point is consistent (its count is the sum of its bucket counts) and nothing allocates.

use crate::Number;

/// A point's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PointValue<'a> {
    /// A counter's, gauge's or up-down counter's value.
    Number(Number),
    /// An explicit-bucket histogram's distribution.
    Histogram(&'a HistogramPoint<'a>),
    /// A base-2 exponential histogram's distribution.
    ExponentialHistogram(&'a ExponentialHistogramPoint<'a>),
}

/// An explicit-bucket histogram's cumulative state, as OTLP's `HistogramDataPoint` carries it.
///
/// Bucket `i` counts the values in `(bounds[i - 1], bounds[i]]`; the first starts at -∞, the
/// last (index `bounds.len()`) ends at +∞.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistogramPoint<'a> {
    /// The bucket boundaries, finite and strictly increasing.
    pub bounds: &'a [f64],
    /// One count per bucket: `bounds.len() + 1` of them.
    pub bucket_counts: &'a [u64],
    /// The number of values recorded: the sum of `bucket_counts`.
    pub count: u64,
    /// The sum of the values recorded.
    pub sum: f64,
    /// The smallest value recorded; `None` before the first.
    pub min: Option<f64>,
    /// The largest value recorded; `None` before the first.
    pub max: Option<f64>,
}

/// A base-2 exponential histogram's cumulative state, as OTLP's
/// `ExponentialHistogramDataPoint` carries it.
///
/// With `base = 2^(2^-scale)`, positive bucket `offset + i` counts the values in
/// `(base^(offset+i), base^(offset+i+1)]`; negative buckets likewise for absolute values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialHistogramPoint<'a> {
    /// The resolution: higher is finer.
    pub scale: i32,
    /// Values whose absolute value is at most `zero_threshold`.
    pub zero_count: u64,
    /// The zero bucket's upper bound (0 for exact zeros only).
    pub zero_threshold: f64,
    /// Buckets of positive values.
    pub positive: ExponentialBuckets<'a>,
    /// Buckets of negative values, by absolute value.
    pub negative: ExponentialBuckets<'a>,
    /// The number of values recorded.
    pub count: u64,
    /// The sum of the values recorded.
    pub sum: f64,
    /// The smallest value recorded; `None` before the first.
    pub min: Option<f64>,
    /// The largest value recorded; `None` before the first.
    pub max: Option<f64>,
}

/// A run of consecutive exponential buckets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialBuckets<'a> {
    /// The index of the first bucket.
    pub offset: i32,
    /// The counts of buckets `offset`, `offset + 1`, ...
    pub counts: &'a [u64],
}
