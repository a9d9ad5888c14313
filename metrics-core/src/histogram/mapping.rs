//! The base-2 exponential bucket mapping of OpenTelemetry's data model ("Exponential
//! Buckets"): at scale `s` the base is `2^(2^-s)`, and bucket `i` holds the values in
//! `(base^i, base^(i+1)]`, so that powers of two are the upper bounds of their buckets.

/// The highest scale: at 20 the indexes of every finite `f64` still fit in an `i32`.
pub(crate) const MAX_SCALE: i32 = 20;

/// The lowest scale: at -10 every finite `f64` falls into one of three buckets.
pub(crate) const MIN_SCALE: i32 = -10;

/// The index of the bucket holding `value` (positive and finite) at `scale`.
///
/// At scale 0 and below the index is exact, from the float's exponent bits (subnormals
/// included); above, it is the spec's logarithm method with powers of two made exact, which
/// may put a value within an ulp or so of a boundary into the next bucket, as the spec allows.
pub(crate) fn map_to_index(value: f64, scale: i32) -> i32 {
    if scale <= 0 {
        return index_at_scale_zero(value) >> -scale;
    }
    let (exponent, exact) = base2_exponent(value);
    if exact {
        // value = 2^exponent, the upper bound of bucket (exponent << scale) - 1.
        return (exponent << scale) - 1;
    }
    let factor = std::f64::consts::LOG2_E * f64::from(1u32 << scale);
    // Near `f64::MAX` the logarithm rounds up to the next power of two's index: clamp to the
    // last bucket, which holds every value up to `f64::MAX`.
    let last = (1024 << scale) - 1;
    ((value.ln() * factor).floor() as i32).min(last)
}

/// The bucket index at scale 0: `ceil(log2(value)) - 1`.
fn index_at_scale_zero(value: f64) -> i32 {
    let (exponent, exact) = base2_exponent(value);
    if exact {
        exponent - 1
    } else {
        exponent
    }
}

/// `floor(log2(value))` for a positive finite `value`, and whether `value` is exactly that
/// power of two: read from the bits, subnormals included.
fn base2_exponent(value: f64) -> (i32, bool) {
    const MANTISSA_BITS: u32 = 52;
    const MANTISSA_MASK: u64 = (1 << MANTISSA_BITS) - 1;
    let bits = value.to_bits();
    let biased = ((bits >> MANTISSA_BITS) & 0x7ff) as i32;
    let mantissa = bits & MANTISSA_MASK;
    if biased == 0 {
        // Subnormal: value = mantissa * 2^-1074.
        let log2 = 63 - mantissa.leading_zeros() as i32;
        return (log2 - 1074, mantissa.is_power_of_two());
    }
    (biased - 1023, mantissa == 0)
}

/// The lower bound of bucket `index` at `scale`, `base^index` (its upper bound is the next
/// bucket's lower bound). Saturates to 0 and infinity beyond the `f64` range.
pub(crate) fn lower_boundary(index: i32, scale: i32) -> f64 {
    if scale <= 0 {
        let exponent = i64::from(index) << -scale;
        return 2f64.powi(exponent.clamp(-1100, 1100) as i32);
    }
    // 2^(index / 2^scale), as `exp` of a product (the spec's form) to keep precision.
    let inverse_factor = std::f64::consts::LN_2 / f64::from(1u32 << scale);
    (f64::from(index) * inverse_factor).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `2^exponent`, built from its bits (subnormals included, where `powi` underflows).
    fn power_of_two(exponent: i32) -> f64 {
        if exponent >= -1022 {
            f64::from_bits(((exponent + 1023) as u64) << 52)
        } else {
            f64::from_bits(1 << (exponent + 1074))
        }
    }

    /// Powers of two are the upper bounds of their buckets, at every scale.
    #[test]
    fn powers_of_two_are_upper_bounds() {
        for scale in MIN_SCALE..=MAX_SCALE {
            for exponent in [-1074, -1073, -1022, -10, -1, 0, 1, 2, 10, 1023] {
                let value = power_of_two(exponent);
                let index = map_to_index(value, scale);
                let expected = if scale >= 0 {
                    (i64::from(exponent) << scale) - 1
                } else {
                    (i64::from(exponent) - 1) >> -scale
                };
                assert_eq!(i64::from(index), expected, "2^{exponent} at scale {scale}");
            }
        }
    }

    /// The data model's examples at scale 0 (base 2), 1 (base √2) and -1 (base 4).
    #[test]
    fn indexes_follow_the_spec_examples() {
        let cases = [
            // scale 0: (1, 2] is bucket 0, (2, 4] bucket 1, (0.5, 1] bucket -1.
            (0, 1.0, -1),
            (0, 1.5, 0),
            (0, 2.0, 0),
            (0, 3.0, 1),
            (0, 4.0, 1),
            (0, 5.0, 2),
            (0, 0.75, -1),
            (0, 0.5, -2),
            // scale 1: (1, √2] is bucket 0, (√2, 2] bucket 1.
            (1, 1.2, 0),
            (1, 1.5, 1),
            (1, 2.0, 1),
            (1, 2.5, 2),
            (1, 3.0, 3),
            // scale -1: (1, 4] is bucket 0, (4, 16] bucket 1, (1/4, 1] bucket -1.
            (-1, 1.0, -1),
            (-1, 2.0, 0),
            (-1, 4.0, 0),
            (-1, 5.0, 1),
            (-1, 16.0, 1),
            (-1, 17.0, 2),
            // The extremes of f64 at the highest scale still fit in an i32.
            (20, f64::MAX, (1024 << 20) - 1),
            (20, f64::MIN_POSITIVE, (-1022 << 20) - 1),
            (20, 5e-324, (-1074 << 20) - 1),
            (0, 5e-324, -1075),
            (0, 3e-323, -1072),
        ];
        for (scale, value, expected) in cases {
            assert_eq!(
                map_to_index(value, scale),
                expected,
                "{value} at scale {scale}"
            );
        }
    }

    /// Each value lies within its bucket's bounds, and lowering the scale by one halves
    /// the index (rounding down), which is what downscaling relies on.
    #[test]
    fn values_lie_in_their_buckets_and_downscaling_halves_indexes() {
        let values = [
            1e-300, 3e-9, 0.001, 0.1, 0.7, 1.0001, 3.3, 100.0, 12345.678, 1e300,
        ];
        for scale in [-4, -1, 0, 1, 3, 8, 12, 20] {
            for value in values {
                let index = map_to_index(value, scale);
                let (low, high) = (
                    lower_boundary(index, scale),
                    lower_boundary(index + 1, scale),
                );
                let slack = 1e-9 * value;
                assert!(
                    low - slack <= value && value <= high + slack,
                    "{value} at scale {scale}: bucket {index} is ({low}, {high}]"
                );
                if scale > MIN_SCALE {
                    assert_eq!(
                        map_to_index(value, scale - 1),
                        index >> 1,
                        "{value} {scale}"
                    );
                }
            }
        }
    }
}
