//! Histogram deltas: the change of a series' distribution since the previous snapshot, bucket
//! by bucket, for [`Deltas`](super::Deltas).
//!
//! A delta point has no min or max (the interval's cannot be known from two cumulative
//! states), except the whole point a new series or a reset sends: its cumulative min and max
//! are the interval's. A reset is anything a cumulative histogram cannot do between two
//! snapshots: a count or a bucket that went down, other bounds, a finer exponential scale or
//! another zero threshold.
//!
//! The state kept per series and the buffers the delta points borrow are reused from one
//! snapshot to the next: once warm, nothing allocates unless a histogram grows.

use crate::{ExponentialBuckets, ExponentialHistogramPoint, HistogramPoint};

/// An explicit-bucket histogram's previous cumulative state.
#[derive(Clone, Debug, Default)]
pub(super) struct ExplicitState {
    bounds: Vec<f64>,
    counts: Vec<u64>,
    count: u64,
    sum: f64,
}

impl ExplicitState {
    fn remember(&mut self, point: &HistogramPoint<'_>) {
        self.bounds.clear();
        self.bounds.extend_from_slice(point.bounds);
        self.counts.clear();
        self.counts.extend_from_slice(point.bucket_counts);
        self.count = point.count;
        self.sum = point.sum;
    }
}

/// An exponential histogram's previous cumulative state.
#[derive(Clone, Debug, Default)]
pub(super) struct ExponentialState {
    scale: i32,
    zero_count: u64,
    zero_threshold: f64,
    positive: (i32, Vec<u64>),
    negative: (i32, Vec<u64>),
    count: u64,
    sum: f64,
}

impl ExponentialState {
    fn remember(&mut self, point: &ExponentialHistogramPoint<'_>) {
        for (kept, buckets) in [
            (&mut self.positive, &point.positive),
            (&mut self.negative, &point.negative),
        ] {
            kept.0 = buckets.offset;
            kept.1.clear();
            kept.1.extend_from_slice(buckets.counts);
        }
        self.scale = point.scale;
        self.zero_count = point.zero_count;
        self.zero_threshold = point.zero_threshold;
        self.count = point.count;
        self.sum = point.sum;
    }
}

/// The buffers delta points borrow their bucket counts from.
#[derive(Clone, Debug, Default)]
pub(super) struct Scratch {
    first: Vec<u64>,
    second: Vec<u64>,
}

/// `current`'s delta since `previous` (its bucket counts in `scratch`), or `None` when it is to
/// be sent whole (a new series or a reset); `previous` becomes `current`.
pub(super) fn explicit<'s>(
    previous: &mut ExplicitState,
    is_new: bool,
    current: &HistogramPoint<'s>,
    scratch: &'s mut Scratch,
) -> Option<HistogramPoint<'s>> {
    let comparable = !is_new
        && previous.bounds == current.bounds
        && previous.counts.len() == current.bucket_counts.len()
        && current.count >= previous.count;
    let delta = comparable
        .then(|| subtract_aligned(&mut scratch.first, current.bucket_counts, &previous.counts))
        .flatten()
        .map(|()| HistogramPoint {
            bounds: current.bounds,
            bucket_counts: &scratch.first,
            count: current.count - previous.count,
            sum: current.sum - previous.sum,
            min: None,
            max: None,
        });
    previous.remember(current);
    delta
}

/// `current - previous` bucket by bucket into `out`; `None` if a bucket went down.
fn subtract_aligned(out: &mut Vec<u64>, current: &[u64], previous: &[u64]) -> Option<()> {
    out.clear();
    for (c, p) in current.iter().zip(previous) {
        out.push(c.checked_sub(*p)?);
    }
    Some(())
}

/// Like [`explicit`], for an exponential histogram: the previous buckets are first merged to
/// the current (coarser or equal) scale.
pub(super) fn exponential<'s>(
    previous: &mut ExponentialState,
    is_new: bool,
    current: &ExponentialHistogramPoint<'s>,
    scratch: &'s mut Scratch,
) -> Option<ExponentialHistogramPoint<'s>> {
    let comparable = !is_new
        && current.scale <= previous.scale
        && current.zero_threshold.to_bits() == previous.zero_threshold.to_bits()
        && current.count >= previous.count
        && current.zero_count >= previous.zero_count;
    let delta = if comparable {
        let shift = previous.scale.abs_diff(current.scale);
        let Scratch { first, second } = scratch;
        let positive = subtract_downscaled(first, &current.positive, &previous.positive, shift);
        let negative = subtract_downscaled(second, &current.negative, &previous.negative, shift);
        positive
            .zip(negative)
            .map(|((), ())| ExponentialHistogramPoint {
                scale: current.scale,
                zero_count: current.zero_count - previous.zero_count,
                zero_threshold: current.zero_threshold,
                positive: ExponentialBuckets {
                    offset: current.positive.offset,
                    counts: first,
                },
                negative: ExponentialBuckets {
                    offset: current.negative.offset,
                    counts: second,
                },
                count: current.count - previous.count,
                sum: current.sum - previous.sum,
                min: None,
                max: None,
            })
    } else {
        None
    };
    previous.remember(current);
    delta
}

/// `current` minus `previous` merged `shift` scales down (bucket `i` into `i >> shift`), into
/// `out` indexed like `current`; `None` if a bucket went down or a previous count has no
/// bucket left in `current`.
fn subtract_downscaled(
    out: &mut Vec<u64>,
    current: &ExponentialBuckets<'_>,
    previous: &(i32, Vec<u64>),
    shift: u32,
) -> Option<()> {
    out.clear();
    out.extend_from_slice(current.counts);
    let (offset, counts) = previous;
    for (index, &count) in (i64::from(*offset)..).zip(counts) {
        if count == 0 {
            continue;
        }
        // An arithmetic shift: floor division, as the mapping of negative indexes needs.
        let merged = index
            .checked_shr(shift)
            .unwrap_or(if index < 0 { -1 } else { 0 });
        let at = usize::try_from(merged - i64::from(current.offset)).ok()?;
        let bucket = out.get_mut(at)?;
        *bucket = bucket.checked_sub(count)?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn explicit_point<'a>(bounds: &'a [f64], counts: &'a [u64], sum: f64) -> HistogramPoint<'a> {
        HistogramPoint {
            bounds,
            bucket_counts: counts,
            count: counts.iter().sum(),
            sum,
            min: Some(-1.0),
            max: Some(9.0),
        }
    }

    #[test]
    fn explicit_buckets_subtract_and_resets_are_whole() {
        let mut state = ExplicitState::default();
        let mut scratch = Scratch::default();
        let bounds = [0.0, 1.0];
        let first = explicit_point(&bounds, &[1, 2, 3], 10.0);
        assert_eq!(explicit(&mut state, true, &first, &mut scratch), None);

        let second = explicit_point(&bounds, &[1, 5, 4], 14.5);
        let delta = explicit(&mut state, false, &second, &mut scratch).unwrap();
        assert_eq!(delta.bucket_counts, [0, 3, 1]);
        assert_eq!((delta.count, delta.sum), (4, 4.5));
        assert_eq!((delta.min, delta.max), (None, None));

        // A bucket went down though the count went up: a reset.
        let reset = explicit_point(&bounds, &[0, 9, 4], 20.0);
        assert_eq!(explicit(&mut state, false, &reset, &mut scratch), None);
        // Other bounds: not comparable.
        let other = explicit_point(&[0.0, 2.0], &[0, 9, 5], 21.0);
        assert_eq!(explicit(&mut state, false, &other, &mut scratch), None);
        // The count went down.
        let fewer = explicit_point(&[0.0, 2.0], &[0, 1, 0], 1.0);
        assert_eq!(explicit(&mut state, false, &fewer, &mut scratch), None);
        // Unchanged: all zeros.
        let same = explicit(&mut state, false, &fewer, &mut scratch).unwrap();
        assert_eq!(
            (same.bucket_counts, same.count, same.sum),
            (&[0, 0, 0][..], 0, 0.0)
        );
    }

    fn exponential_point<'a>(
        scale: i32,
        zero_count: u64,
        positive: (i32, &'a [u64]),
        negative: (i32, &'a [u64]),
    ) -> ExponentialHistogramPoint<'a> {
        ExponentialHistogramPoint {
            scale,
            zero_count,
            zero_threshold: 0.0,
            positive: ExponentialBuckets {
                offset: positive.0,
                counts: positive.1,
            },
            negative: ExponentialBuckets {
                offset: negative.0,
                counts: negative.1,
            },
            count: zero_count + positive.1.iter().sum::<u64>() + negative.1.iter().sum::<u64>(),
            sum: 1.0,
            min: Some(0.5),
            max: Some(4.0),
        }
    }

    #[test]
    fn exponential_buckets_are_merged_to_the_current_scale_then_subtracted() {
        let mut state = ExponentialState::default();
        let mut scratch = Scratch::default();
        // Scale 2: positive buckets -3..=1, negative -1..=0.
        let first = exponential_point(2, 1, (-3, &[1, 2, 0, 4, 1]), (-1, &[3, 1]));
        assert_eq!(exponential(&mut state, true, &first, &mut scratch), None);
        // Scale 1: -3 -> -2, -2 -> -1, -1 -> -1, 0 -> 0, 1 -> 0; negative -1 -> -1, 0 -> 0.
        let second = exponential_point(1, 2, (-2, &[1, 3, 7]), (-1, &[4, 1]));
        let delta = exponential(&mut state, false, &second, &mut scratch).unwrap();
        assert_eq!(delta.scale, 1);
        assert_eq!(
            (delta.positive.offset, delta.positive.counts),
            (-2, &[0, 1, 2][..])
        );
        assert_eq!(
            (delta.negative.offset, delta.negative.counts),
            (-1, &[1, 0][..])
        );
        assert_eq!((delta.zero_count, delta.count), (1, 5));
        assert_eq!((delta.min, delta.max), (None, None));

        // Two scales down at once, from scale 1: -2 -> -1, -1 -> -1, 0 -> 0.
        let third = exponential_point(-1, 2, (-1, &[4, 8]), (-1, &[4, 1]));
        let delta = exponential(&mut state, false, &third, &mut scratch).unwrap();
        assert_eq!(delta.positive.counts, [0, 1]);
    }

    #[test]
    fn exponential_resets_are_whole() {
        let mut scratch = Scratch::default();
        let base = exponential_point(1, 1, (0, &[2, 2]), (0, &[]));
        let cases = [
            // A finer scale.
            exponential_point(2, 1, (0, &[2, 2, 2, 2]), (0, &[])),
            // Fewer zeros.
            exponential_point(1, 0, (0, &[3, 3]), (0, &[])),
            // A bucket went down.
            exponential_point(1, 1, (0, &[1, 9]), (0, &[])),
            // A previous bucket outside the current range.
            exponential_point(1, 1, (1, &[9]), (0, &[])),
            // Another zero threshold.
            ExponentialHistogramPoint {
                zero_threshold: 0.5,
                ..exponential_point(1, 1, (0, &[2, 2]), (0, &[]))
            },
        ];
        for (i, current) in cases.iter().enumerate() {
            let mut state = ExponentialState::default();
            state.remember(&base);
            assert_eq!(
                exponential(&mut state, false, current, &mut scratch),
                None,
                "case {i}"
            );
        }
    }
}
