//! The rules an attribute (label) key follows, for the derive's compile-time checks.
//!
//! A key starts with an ASCII letter and holds ASCII letters, digits, `_` and `.`: every
//! OpenTelemetry backend takes it, and Prometheus's mapping (`.` to `_`) is then the only
//! change it sees, which [`prometheus_spelling`] gives so that two keys that would become
//! one label name can be rejected.

/// The most attributes one point carries: a map key's arity. Beyond it, cardinality (every
/// attribute multiplies the series) is rarely what anyone wants, and the limit lets the
/// derive reject the mistake at compile time.
pub const MAX_LABELS: usize = 16;

/// The longest attribute key accepted, in bytes.
pub const MAX_LABEL_KEY_LEN: usize = 255;

/// What is wrong with an attribute key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelKeyProblem {
    /// The key is empty.
    Empty,
    /// The first character is not an ASCII letter.
    BadStart(char),
    /// A character outside ASCII letters, digits, `_` and `.`.
    BadChar(char),
    /// Longer than [`MAX_LABEL_KEY_LEN`]; the length.
    TooLong(usize),
    /// The key (or its Prometheus spelling) is `otel.metric.overflow`, which marks the series
    /// that collects points beyond the cardinality limit.
    Reserved,
}

/// The attribute of the overflow series (OpenTelemetry's cardinality limit): a user's key of
/// that spelling would make a series indistinguishable from it.
pub const OVERFLOW_KEY: &str = "otel.metric.overflow";

impl std::fmt::Display for LabelKeyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LabelKeyProblem::Empty => f.write_str("an attribute key cannot be empty"),
            LabelKeyProblem::BadStart(c) => {
                write!(f, "an attribute key starts with an ASCII letter, not {c:?}")
            }
            LabelKeyProblem::BadChar(c) => write!(
                f,
                "an attribute key holds ASCII letters, digits, `_` and `.`, not {c:?}"
            ),
            LabelKeyProblem::TooLong(len) => write!(
                f,
                "an attribute key is at most {MAX_LABEL_KEY_LEN} bytes long, this one {len}"
            ),
            LabelKeyProblem::Reserved => write!(
                f,
                "`{OVERFLOW_KEY}` is reserved for the series beyond the cardinality limit"
            ),
        }
    }
}

/// Checks an attribute key: an ASCII letter, then ASCII letters, digits, `_` and `.`.
pub fn check_label_key(key: &str) -> Result<(), LabelKeyProblem> {
    let Some(first) = key.chars().next() else {
        return Err(LabelKeyProblem::Empty);
    };
    if !first.is_ascii_alphabetic() {
        return Err(LabelKeyProblem::BadStart(first));
    }
    if let Some(bad) = key
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
    {
        return Err(LabelKeyProblem::BadChar(bad));
    }
    if key.len() > MAX_LABEL_KEY_LEN {
        return Err(LabelKeyProblem::TooLong(key.len()));
    }
    if prometheus_spelling(key) == prometheus_spelling(OVERFLOW_KEY) {
        return Err(LabelKeyProblem::Reserved);
    }
    Ok(())
}

/// The key as Prometheus spells a valid key (`.` becomes `_`): two keys of one metric must
/// differ in this spelling too.
pub fn prometheus_spelling(key: &str) -> String {
    key.replace('.', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_key_rule() {
        assert_eq!(check_label_key("http.route"), Ok(()));
        assert_eq!(check_label_key("status_code2"), Ok(()));
        assert_eq!(check_label_key(""), Err(LabelKeyProblem::Empty));
        assert_eq!(check_label_key("_x"), Err(LabelKeyProblem::BadStart('_')));
        assert_eq!(check_label_key("2x"), Err(LabelKeyProblem::BadStart('2')));
        assert_eq!(check_label_key("a-b"), Err(LabelKeyProblem::BadChar('-')));
        assert_eq!(check_label_key("a b"), Err(LabelKeyProblem::BadChar(' ')));
        assert_eq!(
            check_label_key(&"a".repeat(256)),
            Err(LabelKeyProblem::TooLong(256))
        );
        assert_eq!(prometheus_spelling("http.route"), "http_route");
        assert_eq!(
            check_label_key(OVERFLOW_KEY),
            Err(LabelKeyProblem::Reserved)
        );
        assert_eq!(
            check_label_key("otel_metric.overflow"),
            Err(LabelKeyProblem::Reserved)
        );
        assert_eq!(check_label_key("otel.metric.overflows"), Ok(()));
    }
}
