//! [`Slots`]: an append-only array whose elements never move, so that a reference to one
//! lives as long as the array, without a lock to read it and without `unsafe`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The first segment's length, as a power of two; each next segment is twice as long.
const FIRST_BITS: u32 = 4;
/// Enough segments for more elements than a `u32` counts (16 × (2^28 − 1)).
const SEGMENTS: usize = 28;

/// Elements in segments of doubling size, each allocated once when first needed: pushing
/// never moves what is there, and reading is two loads.
pub(super) struct Slots<T> {
    segments: [OnceLock<Box<[OnceLock<T>]>>; SEGMENTS],
    /// How many elements are set; the first `len` are.
    len: AtomicUsize,
}

/// The segment and offset of element `index`.
fn locate(index: usize) -> Option<(usize, usize)> {
    let shifted = index.checked_add(1 << FIRST_BITS)?;
    let segment = (usize::BITS - 1 - shifted.leading_zeros() - FIRST_BITS) as usize;
    let offset = shifted - (1 << (segment as u32 + FIRST_BITS));
    (segment < SEGMENTS).then_some((segment, offset))
}

impl<T> Slots<T> {
    pub(super) const fn new() -> Self {
        Slots {
            segments: [const { OnceLock::new() }; SEGMENTS],
            len: AtomicUsize::new(0),
        }
    }

    /// How many elements are set.
    pub(super) fn len(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Appends `value` and returns its index, or gives it back when the array is full.
    ///
    /// Callers serialize pushes (the family's creation lock); reads run alongside.
    pub(super) fn push(&self, value: T) -> Result<usize, T> {
        let index = self.len.load(Ordering::Relaxed);
        let Some((segment, offset)) = locate(index) else {
            return Err(value);
        };
        let slots = self.segments[segment].get_or_init(|| {
            (0..1usize << (segment as u32 + FIRST_BITS))
                .map(|_| OnceLock::new())
                .collect()
        });
        slots[offset].set(value)?;
        // Published after the element: a reader that sees the length sees the element.
        self.len.store(index + 1, Ordering::Release);
        Ok(index)
    }

    /// Element `index`, if it is set.
    #[inline]
    pub(super) fn get(&self, index: usize) -> Option<&T> {
        let (segment, offset) = locate(index)?;
        self.segments[segment].get()?.get(offset)?.get()
    }

    /// The elements set, in the order they were pushed.
    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        (0..self.len()).filter_map(|index| self.get(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_map_to_consecutive_segments() {
        assert_eq!(locate(0), Some((0, 0)));
        assert_eq!(locate(15), Some((0, 15)));
        assert_eq!(locate(16), Some((1, 0)));
        assert_eq!(locate(47), Some((1, 31)));
        assert_eq!(locate(48), Some((2, 0)));
        assert_eq!(locate(usize::MAX), None);
        let last = (16usize << SEGMENTS) - 17;
        assert_eq!(
            locate(last),
            Some((SEGMENTS - 1, (16 << (SEGMENTS - 1)) - 1))
        );
        assert_eq!(locate(last + 1), None);
    }

    #[test]
    fn pushed_elements_stay_where_they_are() {
        let slots = Slots::new();
        let first = slots.push(0).map(|i| slots.get(i).unwrap()).unwrap();
        for n in 1..1000 {
            assert_eq!(slots.push(n), Ok(n));
        }
        assert_eq!(*first, 0);
        assert_eq!(slots.len(), 1000);
        assert!(slots.iter().copied().eq(0..1000));
        assert_eq!(slots.get(1000), None);
    }
}
