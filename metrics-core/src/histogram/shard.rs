//! A recording thread's own cells. Each histogram keeps one shard per thread that records
//! into it, which only that thread writes: a record is plain loads and stores (no locked
//! instruction, no cache line shared with another recorder), and a read adds the shards up.
//!
//! The cells are atomics all the same, written with `Relaxed` load-then-store, so that
//! another thread may read them at any time; a reader only needs every completed record to
//! be visible eventually, as with the counters. `thread_local::ThreadLocal` hands each
//! thread its shard and keeps it when the thread exits (a later thread reuses it), so
//! nothing recorded is lost.

use std::sync::atomic::{AtomicU64, Ordering};

/// A count only its shard's thread increments.
#[derive(Debug, Default)]
pub(crate) struct Tally(AtomicU64);

impl Tally {
    #[inline]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Adds one: a load and a store, as only this shard's thread writes.
    #[inline]
    pub(crate) fn bump(&self) {
        self.set(self.get().wrapping_add(1));
    }

    #[inline]
    pub(crate) fn set(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

/// Sum, minimum and maximum of the values one thread recorded.
#[derive(Debug)]
pub(crate) struct Moments {
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
}

impl Default for Moments {
    fn default() -> Self {
        Moments {
            sum: AtomicU64::new(0f64.to_bits()),
            min: AtomicU64::new(f64::INFINITY.to_bits()),
            max: AtomicU64::new(f64::NEG_INFINITY.to_bits()),
        }
    }
}

impl Moments {
    /// Adds `value` (finite) to the sum and lowers or raises the minimum and maximum; the
    /// common case (neither a new minimum nor a new maximum) stores only the sum.
    #[inline]
    pub(crate) fn record(&self, value: f64) {
        let load = |cell: &AtomicU64| f64::from_bits(cell.load(Ordering::Relaxed));
        let store = |cell: &AtomicU64, v: f64| cell.store(v.to_bits(), Ordering::Relaxed);
        store(&self.sum, load(&self.sum) + value);
        if value < load(&self.min) {
            store(&self.min, value);
        }
        if value > load(&self.max) {
            store(&self.max, value);
        }
    }
}

/// The moments of every shard, added up by a read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Totals {
    pub(crate) sum: f64,
    min: f64,
    max: f64,
}

impl Default for Totals {
    fn default() -> Self {
        Totals {
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Totals {
    pub(crate) fn add(&mut self, moments: &Moments) {
        let load = |cell: &AtomicU64| f64::from_bits(cell.load(Ordering::Relaxed));
        self.sum += load(&moments.sum);
        self.min = self.min.min(load(&moments.min));
        self.max = self.max.max(load(&moments.max));
    }

    /// The minimum, once a value was counted.
    pub(crate) fn min(&self, count: u64) -> Option<f64> {
        self.min
            .is_finite()
            .then_some(self.min)
            .filter(|_| count > 0)
    }

    /// The maximum, once a value was counted.
    pub(crate) fn max(&self, count: u64) -> Option<f64> {
        self.max
            .is_finite()
            .then_some(self.max)
            .filter(|_| count > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_add_up_across_shards() {
        let (a, b) = (Moments::default(), Moments::default());
        for v in [3.0, -2.0] {
            a.record(v);
        }
        for v in [7.5, 0.0] {
            b.record(v);
        }
        let mut totals = Totals::default();
        totals.add(&a);
        totals.add(&b);
        assert_eq!(totals.sum, 8.5);
        assert_eq!((totals.min(4), totals.max(4)), (Some(-2.0), Some(7.5)));
        assert_eq!(Totals::default().min(0), None);
    }

    #[test]
    fn tallies_count_and_wrap() {
        let tally = Tally::default();
        tally.bump();
        tally.set(u64::MAX);
        tally.bump();
        assert_eq!(tally.get(), 0);
    }
}
