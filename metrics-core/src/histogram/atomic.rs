//! An `f64` in an `AtomicU64`, updated with compare-and-swap loops: the sum, minimum and
//! maximum of a histogram without a lock.

use std::sync::atomic::{AtomicU64, Ordering};

/// An atomic `f64`. `Relaxed` throughout: each histogram field is read on its own, and a
/// reader only needs every completed record to be visible eventually, as with the counters.
#[derive(Debug)]
pub(crate) struct AtomicF64(AtomicU64);

impl AtomicF64 {
    pub(crate) const fn new(value: f64) -> Self {
        AtomicF64(AtomicU64::new(value.to_bits()))
    }

    #[inline]
    pub(crate) fn load(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// Adds `value`, retrying while another thread got in between.
    #[inline]
    pub(crate) fn add(&self, value: f64) {
        let mut current = self.0.load(Ordering::Relaxed);
        loop {
            let new = (f64::from_bits(current) + value).to_bits();
            match self
                .0
                .compare_exchange_weak(current, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Lowers the value to `value` if that is smaller. The common case (not a new minimum)
    /// is one load.
    #[inline]
    pub(crate) fn min(&self, value: f64) {
        self.update_while(value, |current| value < current);
    }

    /// Raises the value to `value` if that is larger.
    #[inline]
    pub(crate) fn max(&self, value: f64) {
        self.update_while(value, |current| value > current);
    }

    #[inline]
    fn update_while(&self, value: f64, better: impl Fn(f64) -> bool) {
        let mut current = self.0.load(Ordering::Relaxed);
        while better(f64::from_bits(current)) {
            match self.0.compare_exchange_weak(
                current,
                value.to_bits(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_min_max() {
        let sum = AtomicF64::new(0.0);
        sum.add(1.5);
        sum.add(-0.25);
        assert_eq!(sum.load(), 1.25);
        let min = AtomicF64::new(f64::INFINITY);
        let max = AtomicF64::new(f64::NEG_INFINITY);
        for v in [3.0, -2.0, 7.5, 0.0] {
            min.min(v);
            max.max(v);
        }
        assert_eq!((min.load(), max.load()), (-2.0, 7.5));
    }
}
