//! The rule explicit histogram bucket bounds follow, for the derive's check of a literal
//! `#[metric(buckets = [...])]` and the runtime's `Histogram::with_bounds`.

/// The most bounds a histogram takes: its counts are copied onto the stack at each read, and
/// more than this many buckets is rarely a resolution anyone needs (an exponential histogram
/// is the tool for a wide range).
pub const MAX_BUCKETS: usize = 256;

/// What is wrong with a list of bucket bounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BucketsProblem {
    /// No bound at all.
    Empty,
    /// More than [`MAX_BUCKETS`] bounds; the count.
    TooMany(usize),
    /// A NaN or infinite bound, at this index (`+Inf` is implicit).
    NotFinite(usize),
    /// The bound at this index is not greater than the one before it.
    NotIncreasing(usize),
}

impl std::fmt::Display for BucketsProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BucketsProblem::Empty => f.write_str("a histogram needs at least one bucket bound"),
            BucketsProblem::TooMany(n) => {
                write!(f, "{n} bucket bounds, at most {MAX_BUCKETS} are allowed")
            }
            BucketsProblem::NotFinite(i) => write!(
                f,
                "bound {i} is not finite: bounds are finite numbers (the `+Inf` bucket is always there)"
            ),
            BucketsProblem::NotIncreasing(i) => write!(
                f,
                "bound {i} is not greater than the bound before it: bounds are strictly increasing"
            ),
        }
    }
}

impl std::error::Error for BucketsProblem {}

/// Checks bucket bounds: at least one, at most [`MAX_BUCKETS`], finite, strictly increasing.
pub const fn check_buckets(bounds: &[f64]) -> Result<(), BucketsProblem> {
    if bounds.is_empty() {
        return Err(BucketsProblem::Empty);
    }
    if bounds.len() > MAX_BUCKETS {
        return Err(BucketsProblem::TooMany(bounds.len()));
    }
    let mut i = 0;
    while i < bounds.len() {
        if !bounds[i].is_finite() {
            return Err(BucketsProblem::NotFinite(i));
        }
        if i > 0 && bounds[i] <= bounds[i - 1] {
            return Err(BucketsProblem::NotIncreasing(i));
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_rule() {
        assert_eq!(check_buckets(&[0.1, 1.0, 10.0]), Ok(()));
        assert_eq!(check_buckets(&[-1.0]), Ok(()));
        assert_eq!(check_buckets(&[]), Err(BucketsProblem::Empty));
        assert_eq!(
            check_buckets(&[1.0, 1.0]),
            Err(BucketsProblem::NotIncreasing(1))
        );
        assert_eq!(
            check_buckets(&[2.0, 1.0]),
            Err(BucketsProblem::NotIncreasing(1))
        );
        assert_eq!(
            check_buckets(&[1.0, f64::NAN]),
            Err(BucketsProblem::NotFinite(1))
        );
        assert_eq!(
            check_buckets(&[f64::INFINITY]),
            Err(BucketsProblem::NotFinite(0))
        );
        let many: Vec<f64> = (0..=MAX_BUCKETS).map(|i| i as f64).collect();
        assert_eq!(
            check_buckets(&many),
            Err(BucketsProblem::TooMany(MAX_BUCKETS + 1))
        );
    }
}
