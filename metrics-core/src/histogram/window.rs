//! [`Window`]: an exponential histogram's buckets as plain data, at one scale shared by both
//! signs, that lowers its scale just enough to take in a bucket outside its range. A
//! recording thread moves its shard through one when a value falls outside the shard's
//! buckets, and a read merges every shard into one.

use super::exponential::MAX_EXPONENTIAL_BUCKETS;
use super::mapping::{MAX_SCALE, MIN_SCALE};
use crate::ExponentialBuckets;

pub(crate) const POSITIVE: usize = 0;
pub(crate) const NEGATIVE: usize = 1;

/// Per sign, `max_size` counts from `starts[sign]` (`None` before the sign's first count).
#[derive(Clone)]
pub(crate) struct Window {
    max_size: usize,
    pub(crate) scale: i32,
    pub(crate) starts: [Option<i32>; 2],
    pub(crate) counts: [[u64; MAX_EXPONENTIAL_BUCKETS]; 2],
}

impl Window {
    /// An empty window at the finest scale.
    pub(crate) fn new(max_size: usize) -> Self {
        Window {
            max_size,
            scale: MAX_SCALE,
            starts: [None, None],
            counts: [[0; MAX_EXPONENTIAL_BUCKETS]; 2],
        }
    }

    /// Adds `count` to the bucket `index` at `scale`, first lowering this window's scale to
    /// `scale` and then as far as needed for the bucket to fit beside the ones counted.
    pub(crate) fn add(&mut self, sign: usize, index: i32, scale: i32, count: u64) {
        if scale < self.scale {
            self.lower_scale(self.scale - scale);
        }
        let mut index = index >> (scale - self.scale);
        if self.offset(sign, index).is_none() {
            let (low, high) = match self.occupied(sign) {
                Some((low, high)) => (low.min(index), high.max(index)),
                None => (index, index),
            };
            // The smallest scale reduction that fits [low, high] into the window.
            let mut change = 0;
            while i64::from(high >> change) - i64::from(low >> change) >= self.max_size as i64
                && self.scale - change > MIN_SCALE
            {
                change += 1;
            }
            if change > 0 {
                // Both signs share the scale: merge the other's buckets too.
                self.replace(1 - sign, change, None);
            }
            index >>= change;
            self.replace(sign, change, Some(index));
            self.scale -= change;
        }
        if let Some(offset) = self.offset(sign, index) {
            self.counts[sign][offset] += count;
        }
    }

    /// Adds every count of `other` (whatever its scale) to this window.
    pub(crate) fn merge(&mut self, other: &Window) {
        for sign in [POSITIVE, NEGATIVE] {
            let Some(start) = other.starts[sign] else {
                continue;
            };
            for (i, &count) in other.counts[sign][..other.max_size].iter().enumerate() {
                if count != 0 {
                    self.add(sign, start + i as i32, other.scale, count);
                }
            }
        }
    }

    /// A sign's non-empty range of buckets and their total.
    pub(crate) fn buckets(&self, sign: usize) -> (ExponentialBuckets<'_>, u64) {
        let counts = &self.counts[sign][..self.max_size];
        let (Some(start), Some(first), Some(last)) = (
            self.starts[sign],
            counts.iter().position(|&c| c != 0),
            counts.iter().rposition(|&c| c != 0),
        ) else {
            return (
                ExponentialBuckets {
                    offset: 0,
                    counts: &[],
                },
                0,
            );
        };
        let counts = &counts[first..=last];
        let total = counts.iter().fold(0u64, |sum, &c| sum.wrapping_add(c));
        (
            ExponentialBuckets {
                offset: start + first as i32,
                counts,
            },
            total,
        )
    }

    /// Where bucket `index` (at this window's scale) is among the sign's counts, if there.
    fn offset(&self, sign: usize, index: i32) -> Option<usize> {
        let offset = i64::from(index) - i64::from(self.starts[sign]?);
        usize::try_from(offset).ok().filter(|&o| o < self.max_size)
    }

    /// The first and last non-empty bucket indexes of a sign.
    fn occupied(&self, sign: usize) -> Option<(i32, i32)> {
        let start = self.starts[sign]?;
        let counts = &self.counts[sign][..self.max_size];
        let first = counts.iter().position(|&c| c != 0)?;
        let last = counts.iter().rposition(|&c| c != 0)?;
        Some((start + first as i32, start + last as i32))
    }

    fn lower_scale(&mut self, change: i32) {
        self.replace(POSITIVE, change, None);
        self.replace(NEGATIVE, change, None);
        self.scale -= change;
    }

    /// Re-places a sign's counts after a scale reduction of `change` (indexes halved
    /// `change` times, merging buckets), in a window centred on their range and on `also`
    /// (an index, at the reduced scale, about to be counted).
    fn replace(&mut self, sign: usize, change: i32, also: Option<i32>) {
        let old = self.counts[sign];
        let mut range = also.map(|index| (index, index));
        if let Some(start) = self.starts[sign] {
            for (i, &count) in old[..self.max_size].iter().enumerate() {
                if count != 0 {
                    let index = (start + i as i32) >> change;
                    range =
                        Some(range.map_or((index, index), |(l, h)| (l.min(index), h.max(index))));
                }
            }
        }
        let Some((low, high)) = range else {
            return;
        };
        let spare = self.max_size as i32 - (high - low + 1);
        let new_start = low - spare.max(0) / 2;
        let counts = &mut self.counts[sign];
        counts.fill(0);
        if let Some(start) = self.starts[sign] {
            for (i, &count) in old[..self.max_size].iter().enumerate() {
                if count != 0 {
                    counts[(((start + i as i32) >> change) - new_start) as usize] += count;
                }
            }
        }
        self.starts[sign] = Some(new_start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(window: &Window) -> u64 {
        window.buckets(POSITIVE).1 + window.buckets(NEGATIVE).1
    }

    /// Merging windows gives the scale and counts of one window fed every bucket.
    #[test]
    fn merging_equals_adding_everything_to_one() {
        let mut one = Window::new(8);
        let mut parts = [Window::new(8), Window::new(8)];
        for (n, index) in [3, 40, -7, 1000, 2].into_iter().enumerate() {
            let sign = n % 2;
            one.add(sign, index, MAX_SCALE, 1);
            parts[n % 2].add(sign, index, MAX_SCALE, 1);
        }
        let mut merged = Window::new(8);
        merged.merge(&parts[0]);
        merged.merge(&parts[1]);
        assert_eq!(merged.scale, one.scale);
        for sign in [POSITIVE, NEGATIVE] {
            let (a, b) = (merged.buckets(sign).0, one.buckets(sign).0);
            assert_eq!((a.offset, a.counts), (b.offset, b.counts));
        }
        assert_eq!(counted(&merged), 5);
    }

    /// A range wider than the window lowers the scale, never losing a count.
    #[test]
    fn a_wide_range_lowers_the_scale() {
        let mut window = Window::new(4);
        window.add(POSITIVE, 0, 3, 2);
        window.add(POSITIVE, 100, 3, 1);
        assert_eq!(window.scale, -2);
        assert_eq!(counted(&window), 3);
        window.add(NEGATIVE, -100, 3, 1);
        assert!(window.buckets(NEGATIVE).0.counts.len() <= 4);
        assert_eq!(counted(&window), 4);
    }
}
