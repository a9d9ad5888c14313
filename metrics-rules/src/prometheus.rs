//! OpenTelemetry's Prometheus compatibility rules for names
//! (`specification/compatibility/prometheus_and_openmetrics.md`), as `const fn`s: the
//! encoder in `metrics-core` renders names with them at run time, and the compile-time check
//! that no two metrics of a group share a Prometheus name compares names made by the very
//! same code.
//!
//! - Characters outside `[a-zA-Z0-9_:]` become `_`, runs of `_` become one, and a leading
//!   digit gets a `_` before it.
//! - The unit, with `{...}` annotations dropped, becomes a suffix (`s` → `_seconds`, `By/s`
//!   → `_bytes_per_second`, see [`unit_word`]) unless the name already ends with it; `1` is
//!   `_ratio` on a gauge and nothing otherwise.
//! - A counter's samples end in `_total`; its family name (OpenMetrics) does not.
//!
//! Without allocation (a `const fn` cannot allocate), names are built in a fixed buffer,
//! [`PrometheusName`], large enough for any name the derive accepts.

use crate::{COUNTER, EXPONENTIAL_HISTOGRAM, GAUGE, HISTOGRAM, MAX_NAME_LEN, MAX_UNIT_LEN};

/// Room for the longest name the derive accepts, its leading `_`, the longest unit suffix
/// and `_total`.
const CAPACITY: usize = MAX_NAME_LEN + 2 + 2 * MAX_UNIT_LEN + 32;

/// A Prometheus name (or label name, or unit suffix), built without allocating. Text that
/// would not fit is cut, which only inputs beyond the derive's limits can cause.
#[derive(Clone, Copy)]
pub struct PrometheusName {
    bytes: [u8; CAPACITY],
    len: usize,
}

impl PrometheusName {
    const EMPTY: PrometheusName = PrometheusName {
        bytes: [0; CAPACITY],
        len: 0,
    };

    /// The name's bytes: ASCII, as every input byte outside ASCII became `_`.
    pub const fn as_bytes(&self) -> &[u8] {
        self.bytes.split_at(self.len).0
    }

    /// The name as text.
    pub const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.as_bytes()) {
            Ok(text) => text,
            // Unreachable: every byte pushed is ASCII.
            Err(_) => "",
        }
    }

    /// Whether the name is empty (a unit that gives no suffix).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether both names are the same.
    pub const fn eq(&self, other: &PrometheusName) -> bool {
        bytes_eq(self.as_bytes(), other.as_bytes())
    }

    // `&mut self` rather than by value: const evaluation copies a value at each call, and
    // the check of a wide group renders hundreds of names.
    const fn push(&mut self, b: u8) {
        if self.len < CAPACITY {
            self.bytes[self.len] = b;
            self.len += 1;
        }
    }

    const fn push_bytes(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            self.push(bytes[i]);
            i += 1;
        }
    }

    const fn from_bytes(bytes: &[u8]) -> PrometheusName {
        let mut name = PrometheusName::EMPTY;
        name.push_bytes(bytes);
        name
    }

    /// Appends `bytes` (UTF-8) with every character outside `[a-zA-Z0-9_]` as one `_`; for
    /// a metric name, `:` is kept and runs of `_` become one.
    ///
    /// Written for the compiler's interpreter, which runs it for every metric of a group
    /// with nested groups: few calls and no lookback per byte.
    const fn push_sanitized(&mut self, bytes: &[u8], metric_name: bool) {
        let mut after_underscore = self.len > 0 && self.bytes[self.len - 1] == b'_';
        let mut i = 0;
        while i < bytes.len() && self.len < CAPACITY {
            let b = bytes[i];
            i += 1;
            let keep =
                matches!(b, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9') || (metric_name && b == b':');
            let out = if keep {
                b
            } else if b & 0b1100_0000 == 0b1000_0000 {
                // The rest of a character whose first byte became `_`.
                continue;
            } else if metric_name && after_underscore {
                continue;
            } else {
                b'_'
            };
            self.bytes[self.len] = out;
            self.len += 1;
            after_underscore = out == b'_';
        }
    }

    const fn ends_with(&self, suffix: &[u8]) -> bool {
        self.len >= suffix.len()
            && bytes_eq(self.as_bytes().split_at(self.len - suffix.len()).1, suffix)
    }

    const fn starts_with_digit(&self) -> bool {
        self.len > 0 && self.bytes[0].is_ascii_digit()
    }

    /// Puts `b` in front.
    const fn prepend(&mut self, b: u8) {
        if self.len == CAPACITY {
            self.len -= 1;
        }
        let mut i = self.len;
        while i > 0 {
            self.bytes[i] = self.bytes[i - 1];
            i -= 1;
        }
        self.bytes[0] = b;
        self.len += 1;
    }
}

/// The Prometheus family name (OpenMetrics' `# TYPE` name, without a counter's `_total`) of
/// the metric whose dotted name is `parts` joined by `.`, of the kind whose keyword is `kind`
/// ([`COUNTER`], [`GAUGE`], ...), in `unit`.
pub const fn family_name(parts: &[&str], kind: &str, unit: &str) -> PrometheusName {
    let mut family = PrometheusName::EMPTY;
    let mut part = 0;
    while part < parts.len() {
        if part > 0 {
            family.push_sanitized(b".", true);
        }
        family.push_sanitized(parts[part].as_bytes(), true);
        part += 1;
    }
    if family.starts_with_digit() {
        family.prepend(b'_');
    }
    let counter = str_eq(kind, COUNTER);
    if counter && family.ends_with(b"_total") {
        family.len -= b"_total".len();
    }
    let suffix = unit_suffix(unit, kind);
    if !suffix.is_empty() {
        let already = family.len > suffix.len
            && family.ends_with(suffix.as_bytes())
            && family.bytes[family.len - suffix.len - 1] == b'_';
        if !already {
            if !family.ends_with(b"_") {
                family.push(b'_');
            }
            family.push_bytes(suffix.as_bytes());
        }
    }
    family
}

/// The family name of a metric named `name` within its group, when it is the same under any
/// group path: `family_name(&[path.., name], ..)` is then [`path_prefix`]`(path)` followed by
/// it. Empty when the path could change it: a name that does not start with a letter, or so
/// short that the `_total` or unit suffix rules would look at the path's characters.
///
/// The derive renders these names at expansion time, so that the compile-time check of a
/// nested group's names only joins them to a path instead of running the rules itself.
pub const fn relocatable_family_name(name: &str, kind: &str, unit: &str) -> PrometheusName {
    let mut sanitized = PrometheusName::EMPTY;
    sanitized.push_sanitized(name.as_bytes(), true);
    if sanitized.is_empty() || !sanitized.bytes[0].is_ascii_alphabetic() {
        return PrometheusName::EMPTY;
    }
    let mut kept = sanitized.len;
    if str_eq(kind, COUNTER) {
        if sanitized.len < b"_total".len() {
            return PrometheusName::EMPTY;
        }
        if sanitized.ends_with(b"_total") {
            kept -= b"_total".len();
        }
    }
    let suffix = unit_suffix(unit, kind);
    if !suffix.is_empty() && kept <= suffix.len {
        return PrometheusName::EMPTY;
    }
    family_name(&[name], kind, unit)
}

/// What a group path (the names of the nested group fields, outermost first) puts before a
/// [`relocatable_family_name`]: the parts sanitized as `family_name` does, each followed by
/// the `_` of its dot.
pub const fn path_prefix(path: &[&str]) -> PrometheusName {
    let mut prefix = PrometheusName::EMPTY;
    let mut part = 0;
    while part < path.len() {
        prefix.push_sanitized(path[part].as_bytes(), true);
        prefix.push_sanitized(b".", true);
        part += 1;
    }
    if prefix.starts_with_digit() {
        prefix.prepend(b'_');
    }
    prefix
}

/// The samples' name (and the text format 0.0.4's family name) for a family name:
/// `family` plus `_total` for a counter.
pub const fn sample_name(family: PrometheusName, kind: &str) -> PrometheusName {
    with_suffix(family, sample_suffix(kind))
}

/// `name` followed by `suffix`.
pub const fn with_suffix(mut name: PrometheusName, suffix: &str) -> PrometheusName {
    name.push_bytes(suffix.as_bytes());
    name
}

/// Every name a metric of `kind` is exposed under, as suffixes of its family name: the
/// family itself (OpenMetrics' `# TYPE` name), a counter's samples (`_total`), a histogram's
/// series (`_bucket`, `_sum`, `_count`). Two metrics of a group may share none of them: a
/// histogram `x` and a gauge `x_count` would write samples of one name into two families.
pub const fn claimed_suffixes(kind: &str) -> &'static [&'static str] {
    if str_eq(kind, COUNTER) {
        &["", "_total"]
    } else if is_histogram(kind) {
        &["", "_bucket", "_sum", "_count"]
    } else {
        &[""]
    }
}

/// The most names [`claimed_suffixes`] gives one metric.
pub const MAX_CLAIMED_NAMES: usize = 4;

/// Whether metrics of `kind` are exposed as Prometheus histograms (`_bucket{le=".."}`,
/// `_sum`, `_count`), as both histogram kinds are.
pub const fn is_histogram(kind: &str) -> bool {
    str_eq(kind, HISTOGRAM) || str_eq(kind, EXPONENTIAL_HISTOGRAM)
}

/// The label name Prometheus reserves on a histogram's samples for the bucket bound.
pub const BUCKET_LABEL: &str = "le";

/// Whether an attribute key cannot label a metric of `kind`: on a histogram, a key whose
/// label name is [`BUCKET_LABEL`] would clash with the bucket bound (a second `le` label).
pub const fn reserved_label_key(key: &str, kind: &str) -> bool {
    is_histogram(kind) && label_name(key).eq(&PrometheusName::from_bytes(BUCKET_LABEL.as_bytes()))
}

/// What a sample name adds to the family name: `_total` for a counter, else nothing.
pub const fn sample_suffix(kind: &str) -> &'static str {
    if str_eq(kind, COUNTER) {
        "_total"
    } else {
        ""
    }
}

/// The suffix word(s) for `unit` on a metric of `kind`, sanitized: OpenMetrics' `# UNIT`.
/// Empty when the unit gives none.
pub const fn unit_suffix(unit: &str, kind: &str) -> PrometheusName {
    if unit.is_empty() {
        return PrometheusName::EMPTY;
    }
    let unit = without_annotations(unit.as_bytes());
    let unit = trim(unit.as_bytes(), WHITESPACE);
    if bytes_eq(unit, b"1") {
        return if str_eq(kind, GAUGE) {
            PrometheusName::from_bytes(b"ratio")
        } else {
            PrometheusName::EMPTY
        };
    }
    let (main, per) = match find(unit, b'/') {
        Some(slash) => {
            let (main, per) = unit.split_at(slash);
            (
                trim(main, WHITESPACE),
                Some(trim(per.split_at(1).1, WHITESPACE)),
            )
        }
        None => (unit, None),
    };
    let mut words = PrometheusName::EMPTY;
    if !main.is_empty() && !bytes_eq(main, b"1") {
        words.push_bytes(match unit_word(main) {
            Some(word) => word.as_bytes(),
            None => main,
        });
    }
    if let Some(per) = per {
        if !per.is_empty() {
            if !words.is_empty() {
                words.push(b'_');
            }
            words.push_bytes(b"per_");
            words.push_bytes(match per_unit_word(per) {
                Some(word) => word.as_bytes(),
                None => per,
            });
        }
    }
    let mut sanitized = PrometheusName::EMPTY;
    sanitized.push_sanitized(words.as_bytes(), false);
    PrometheusName::from_bytes(trim(sanitized.as_bytes(), b"_"))
}

/// A label key as a Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`, invalid characters as
/// `_`; a leading digit gets `key_` before it, and so does a leading `__`, which Prometheus
/// reserves for itself.
pub const fn label_name(key: &str) -> PrometheusName {
    let mut out = PrometheusName::EMPTY;
    out.push_sanitized(key.as_bytes(), false);
    let reserved = out.len >= 2 && out.bytes[0] == b'_' && out.bytes[1] == b'_';
    if out.is_empty() || out.starts_with_digit() || reserved {
        let mut prefixed = PrometheusName::from_bytes(b"key_");
        prefixed.push_bytes(out.as_bytes());
        prefixed
    } else {
        out
    }
}

/// The word for a UCUM unit, from the specification's table; `None` for a unit it does not
/// list, which is then used as it is.
pub const fn unit_word(unit: &[u8]) -> Option<&'static str> {
    lookup(UNIT_WORDS, unit)
}

/// The specification's table of unit words.
const UNIT_WORDS: &[(&str, &str)] = &[
    // Time
    ("d", "days"),
    ("h", "hours"),
    ("min", "minutes"),
    ("s", "seconds"),
    ("ms", "milliseconds"),
    ("us", "microseconds"),
    ("ns", "nanoseconds"),
    // Bytes
    ("By", "bytes"),
    ("KiBy", "kibibytes"),
    ("MiBy", "mebibytes"),
    ("GiBy", "gibibytes"),
    ("TiBy", "tibibytes"),
    ("KBy", "kilobytes"),
    ("MBy", "megabytes"),
    ("GBy", "gigabytes"),
    ("TBy", "terabytes"),
    // SI
    ("m", "meters"),
    ("V", "volts"),
    ("A", "amperes"),
    ("J", "joules"),
    ("W", "watts"),
    ("g", "grams"),
    // Misc
    ("Cel", "celsius"),
    ("Hz", "hertz"),
    ("%", "percent"),
];

/// The specification's words for a UCUM unit after `/`.
const PER_UNIT_WORDS: &[(&str, &str)] = &[
    ("s", "second"),
    ("m", "minute"),
    ("h", "hour"),
    ("d", "day"),
    ("w", "week"),
    ("mo", "month"),
    ("y", "year"),
];

const fn per_unit_word(unit: &[u8]) -> Option<&'static str> {
    lookup(PER_UNIT_WORDS, unit)
}

const fn lookup(table: &[(&str, &'static str)], key: &[u8]) -> Option<&'static str> {
    let mut i = 0;
    while i < table.len() {
        if bytes_eq(table[i].0.as_bytes(), key) {
            return Some(table[i].1);
        }
        i += 1;
    }
    None
}

/// `unit` without its `{...}` annotations (`{request}/s` → `/s`).
const fn without_annotations(unit: &[u8]) -> PrometheusName {
    let mut out = PrometheusName::EMPTY;
    let mut depth = 0usize;
    let mut i = 0;
    while i < unit.len() {
        match unit[i] {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b if depth == 0 => out.push(b),
            _ => {}
        }
        i += 1;
    }
    out
}

/// ASCII whitespace, which units never hold (the derive checks them) but `trim` drops.
const WHITESPACE: &[u8] = b" \t\n\r\x0c";

/// `bytes` without the bytes of `set` at either end.
const fn trim<'a>(mut bytes: &'a [u8], set: &[u8]) -> &'a [u8] {
    while let [first, rest @ ..] = bytes {
        if find(set, *first).is_none() {
            break;
        }
        bytes = rest;
    }
    while let [rest @ .., last] = bytes {
        if find(set, *last).is_none() {
            break;
        }
        bytes = rest;
    }
    bytes
}

const fn find(bytes: &[u8], b: u8) -> Option<usize> {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b {
            return Some(i);
        }
        i += 1;
    }
    None
}

const fn str_eq(a: &str, b: &str) -> bool {
    bytes_eq(a.as_bytes(), b.as_bytes())
}

const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UP_DOWN_COUNTER;

    /// A relocatable name joined to any path is the name the rules give the whole.
    #[test]
    fn relocatable_names_join_paths_as_the_rules_do() {
        let paths: &[&[&str]] = &[
            &[],
            &["a"],
            &["http.server"],
            &["a_", "b-c"],
            &["x", "total"],
        ];
        let names = [
            "requests",
            "requests_total",
            "total",
            "x_total",
            "wait",
            "wait_seconds",
            "seconds",
            "latency_ms",
            "a.b_",
            "c",
            "utilization",
            "ratio",
            "rx.bytes",
            "jobs-done",
        ];
        let units = [
            "",
            "s",
            "ms",
            "By",
            "1",
            "{job}",
            "By/s",
            "{request}/s",
            "furlong",
        ];
        let mut relocatable = 0;
        for path in paths {
            for name in names {
                for unit in units {
                    for kind in [COUNTER, GAUGE, UP_DOWN_COUNTER] {
                        let local = relocatable_family_name(name, kind, unit);
                        if local.is_empty() {
                            continue;
                        }
                        relocatable += 1;
                        let whole: Vec<&str> = path.iter().copied().chain([name]).collect();
                        let mut joined = path_prefix(path).as_str().to_owned();
                        joined.push_str(local.as_str());
                        assert_eq!(
                            joined,
                            family_name(&whole, kind, unit).as_str(),
                            "{path:?} {name} {kind} {unit}"
                        );
                    }
                }
            }
        }
        assert!(relocatable > 500, "{relocatable}");
        // Too short to be judged without the path: `x.total` is a counter `x`.
        assert!(relocatable_family_name("total", COUNTER, "").is_empty());
        assert!(relocatable_family_name("wait", GAUGE, "s").is_empty());
    }

    /// The names each kind claims are the encoder's: the family, a counter's `_total`
    /// samples, a histogram's three series; none repeats within a metric.
    #[test]
    fn claimed_names_per_kind() {
        let family = family_name(&["latency"], HISTOGRAM, "s");
        let claimed: Vec<String> = claimed_suffixes(HISTOGRAM)
            .iter()
            .map(|suffix| with_suffix(family, suffix).as_str().to_owned())
            .collect();
        assert_eq!(
            claimed,
            [
                "latency_seconds",
                "latency_seconds_bucket",
                "latency_seconds_sum",
                "latency_seconds_count"
            ]
        );
        assert_eq!(
            claimed_suffixes(EXPONENTIAL_HISTOGRAM),
            claimed_suffixes(HISTOGRAM)
        );
        assert_eq!(claimed_suffixes(COUNTER), ["", sample_suffix(COUNTER)]);
        assert_eq!(claimed_suffixes(GAUGE), [""]);
        assert_eq!(claimed_suffixes(UP_DOWN_COUNTER), [""]);
        for kind in crate::KINDS {
            assert!(claimed_suffixes(kind).len() <= MAX_CLAIMED_NAMES);
            // The samples' name is one of the claimed names.
            assert!(claimed_suffixes(kind).contains(&sample_suffix(kind)));
        }
    }

    #[test]
    fn le_is_reserved_on_histograms_only() {
        assert!(reserved_label_key("le", HISTOGRAM));
        assert!(reserved_label_key("le", EXPONENTIAL_HISTOGRAM));
        assert!(!reserved_label_key("le", GAUGE));
        assert!(!reserved_label_key("le", COUNTER));
        // `l.e` is `l_e` to Prometheus; `level` is not `le`.
        assert!(!reserved_label_key("l.e", HISTOGRAM));
        assert!(!reserved_label_key("level", HISTOGRAM));
    }
}
