//! The rules a metric's name, kind and unit follow, defined once: `metrics-derive` checks them
//! when it expands (so a violation is a compile error at the offending token) and
//! `metrics-core` applies them at run time and in its compile-time schema checks.
//!
//! No dependencies and nothing but plain and `const` functions, so that it adds nothing
//! measurable to either crate's build.

mod buckets;
mod label;
pub mod prometheus;
mod unit;

pub use buckets::{check_buckets, BucketsProblem, MAX_BUCKETS};
pub use label::{
    check_label_key, prometheus_spelling, LabelKeyProblem, MAX_LABELS, MAX_LABEL_KEY_LEN,
};
pub use unit::{check_unit, UnitProblem};

/// OpenTelemetry's limit on an instrument name's length, in bytes (names are ASCII).
pub const MAX_NAME_LEN: usize = 255;

/// OpenTelemetry's limit on a unit's length, in bytes (units are ASCII).
pub const MAX_UNIT_LEN: usize = 63;

/// The keyword of a monotonic counter in `#[metric(...)]`.
pub const COUNTER: &str = "counter";
/// The keyword of a gauge, the default kind.
pub const GAUGE: &str = "gauge";
/// The keyword of a counter that can also go down.
pub const UP_DOWN_COUNTER: &str = "up_down_counter";
/// The keyword of an explicit-bucket histogram (the kind of a `Histogram` field anyway).
pub const HISTOGRAM: &str = "histogram";
/// The keyword of a base-2 exponential histogram (the kind of an `ExponentialHistogram`).
pub const EXPONENTIAL_HISTOGRAM: &str = "exponential_histogram";
/// Every kind keyword, in the order messages list them.
pub const KINDS: [&str; 5] = [
    COUNTER,
    GAUGE,
    UP_DOWN_COUNTER,
    HISTOGRAM,
    EXPONENTIAL_HISTOGRAM,
];

/// Whether a metric name may start with `c`: an ASCII letter (OpenTelemetry's
/// instrument-name rule).
pub const fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic()
}

/// Whether a metric name may contain `c`: ASCII letters, digits, `_`, `.`, `-` and `/`.
pub const fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')
}

/// The characters [`is_name_char`] accepts besides letters and digits, as messages list them.
pub const NAME_PUNCTUATION: &str = "`_`, `.`, `-` and `/`";

/// What is wrong with a metric name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameProblem {
    /// The name is empty.
    Empty,
    /// The first character is not an ASCII letter.
    BadStart(char),
    /// A character outside the allowed set.
    BadChar(char),
    /// Longer than [`MAX_NAME_LEN`]; the length.
    TooLong(usize),
}

/// Checks a name (or one dotted part of it, or a prefix) against OpenTelemetry's
/// instrument-name rule.
pub fn check_name(name: &str) -> Result<(), NameProblem> {
    let Some(first) = name.chars().next() else {
        return Err(NameProblem::Empty);
    };
    if !is_name_start(first) {
        return Err(NameProblem::BadStart(first));
    }
    if let Some(bad) = name.chars().find(|&c| !is_name_char(c)) {
        return Err(NameProblem::BadChar(bad));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameProblem::TooLong(name.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otel_instrument_name_rule() {
        assert_eq!(check_name("scheduler.running_agents"), Ok(()));
        assert_eq!(check_name("a/b-c_d.e"), Ok(()));
        assert_eq!(check_name(""), Err(NameProblem::Empty));
        assert_eq!(check_name("1abc"), Err(NameProblem::BadStart('1')));
        assert_eq!(check_name("_private"), Err(NameProblem::BadStart('_')));
        assert_eq!(check_name("a b"), Err(NameProblem::BadChar(' ')));
        assert_eq!(check_name("größe"), Err(NameProblem::BadChar('ö')));
        assert_eq!(check_name(&"a".repeat(255)), Ok(()));
        assert_eq!(check_name(&"a".repeat(256)), Err(NameProblem::TooLong(256)));
    }
}
