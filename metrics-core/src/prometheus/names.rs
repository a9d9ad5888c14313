//! OpenTelemetry's Prometheus compatibility rules for names: a metric's dotted name, kind and
//! UCUM unit become a Prometheus metric family name; a label key becomes a label name.
//!
//! - Characters outside `[a-zA-Z0-9_:]` become `_`, runs of `_` become one, and a leading
//!   digit gets a `_` before it.
//! - The unit, with `{...}` annotations dropped, becomes a suffix (`s` → `_seconds`, `By/s`
//!   → `_bytes_per_second`, see [`unit_word`]) unless the name already ends with it; `1` is
//!   `_ratio` on a gauge and nothing otherwise.
//! - A counter's samples end in `_total`; its family name (OpenMetrics) does not.

use crate::schema::MetricKind;

/// The names of one metric in the exposition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct MetricNames {
    /// The OpenMetrics family name (`# TYPE` in OpenMetrics): no `_total`.
    pub(super) family: String,
    /// The samples' name, also the family name of the text format 0.0.4: `family` plus
    /// `_total` for a counter.
    pub(super) sample: String,
    /// The unit as OpenMetrics' `# UNIT` gives it, when the name carries one.
    pub(super) unit: Option<String>,
}

/// The Prometheus names of the metric `name` (full dotted name) of `kind` in `unit`.
pub(super) fn metric_names(name: &str, kind: MetricKind, unit: &str) -> MetricNames {
    let mut family = String::with_capacity(name.len() + 16);
    push_sanitized(&mut family, name, true);
    if family.starts_with(|c: char| c.is_ascii_digit()) {
        family.insert(0, '_');
    }
    let counter = kind == MetricKind::Counter;
    if counter && family.ends_with("_total") {
        family.truncate(family.len() - "_total".len());
    }
    let unit = unit_suffix(unit, kind);
    if let Some(unit) = &unit {
        let already = family.len() > unit.len()
            && family.ends_with(unit.as_str())
            && family.as_bytes()[family.len() - unit.len() - 1] == b'_';
        if !already {
            if !family.ends_with('_') {
                family.push('_');
            }
            family.push_str(unit);
        }
    }
    let mut sample = family.clone();
    if counter {
        sample.push_str("_total");
    }
    MetricNames {
        family,
        sample,
        unit,
    }
}

/// A label key as a Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`, invalid characters as
/// `_`; a leading digit gets `key_` before it, and so does a leading `__`, which Prometheus
/// reserves for itself.
pub(super) fn label_name(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    push_sanitized(&mut out, key, false);
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) || out.starts_with("__") {
        out.insert_str(0, "key_");
    }
    out
}

/// Appends `s` with every character outside `[a-zA-Z0-9_]` as `_`; for a metric name, `:`
/// is kept and runs of `_` become one.
fn push_sanitized(out: &mut String, s: &str, metric_name: bool) {
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || (metric_name && c == ':') {
            out.push(c);
        } else if !(metric_name && out.ends_with('_')) {
            out.push('_');
        }
    }
}

/// The suffix word(s) for `unit`, sanitized, or `None` when it gives none.
fn unit_suffix(unit: &str, kind: MetricKind) -> Option<String> {
    let unit = without_annotations(unit);
    let unit = unit.trim();
    if unit == "1" {
        return (kind == MetricKind::Gauge).then(|| "ratio".to_owned());
    }
    let (main, per) = match unit.split_once('/') {
        Some((main, per)) => (main.trim(), Some(per.trim())),
        None => (unit, None),
    };
    let mut words = String::new();
    if !main.is_empty() && main != "1" {
        words.push_str(unit_word(main).unwrap_or(main));
    }
    if let Some(per) = per.filter(|p| !p.is_empty()) {
        if !words.is_empty() {
            words.push('_');
        }
        words.push_str("per_");
        words.push_str(per_unit_word(per).unwrap_or(per));
    }
    let mut out = String::with_capacity(words.len());
    push_sanitized(&mut out, &words, false);
    let out = out.trim_matches('_');
    (!out.is_empty()).then(|| out.to_owned())
}

/// `unit` without its `{...}` annotations (`{request}/s` → `/s`).
fn without_annotations(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    let mut depth = 0usize;
    for c in unit.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The word for a UCUM unit, from the specification's table; `None` for a unit it does not
/// list, which is then used as it is.
pub(super) fn unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        // Time
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        // Bytes
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        // SI
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        // Misc
        "Cel" => "celsius",
        "Hz" => "hertz",
        "%" => "percent",
        _ => return None,
    })
}

/// The word for a UCUM unit after `/`, from the specification's table.
fn per_unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use MetricKind::{Counter, Gauge, UpDownCounter};

    #[test]
    fn names_follow_the_compatibility_rules() {
        let cases = [
            (
                "http.server.duration",
                Gauge,
                "s",
                "http_server_duration_seconds",
                "http_server_duration_seconds",
                Some("seconds"),
            ),
            (
                "latency",
                Gauge,
                "ms",
                "latency_milliseconds",
                "latency_milliseconds",
                Some("milliseconds"),
            ),
            (
                "rx",
                Counter,
                "By",
                "rx_bytes",
                "rx_bytes_total",
                Some("bytes"),
            ),
            (
                "cpu.utilization",
                Gauge,
                "1",
                "cpu_utilization_ratio",
                "cpu_utilization_ratio",
                Some("ratio"),
            ),
            (
                "jobs.done",
                Counter,
                "1",
                "jobs_done",
                "jobs_done_total",
                None,
            ),
            ("jobs", Counter, "{job}", "jobs", "jobs_total", None),
            (
                "rate",
                Gauge,
                "{request}/s",
                "rate_per_second",
                "rate_per_second",
                Some("per_second"),
            ),
            (
                "throughput",
                Gauge,
                "By/s",
                "throughput_bytes_per_second",
                "throughput_bytes_per_second",
                Some("bytes_per_second"),
            ),
            (
                "requests_total",
                Counter,
                "",
                "requests",
                "requests_total",
                None,
            ),
            (
                "wait_seconds",
                Gauge,
                "s",
                "wait_seconds",
                "wait_seconds",
                Some("seconds"),
            ),
            ("queue", UpDownCounter, "", "queue", "queue", None),
            (
                "temp",
                Gauge,
                "Cel",
                "temp_celsius",
                "temp_celsius",
                Some("celsius"),
            ),
            (
                "odd",
                Gauge,
                "furlong",
                "odd_furlong",
                "odd_furlong",
                Some("furlong"),
            ),
            ("9lives", Gauge, "", "_9lives", "_9lives", None),
            ("a..b-c d", Gauge, "", "a_b_c_d", "a_b_c_d", None),
            ("ns:x", Gauge, "", "ns:x", "ns:x", None),
            ("héllo", Gauge, "", "h_llo", "h_llo", None),
        ];
        for (name, kind, unit, family, sample, om_unit) in cases {
            let names = metric_names(name, kind, unit);
            assert_eq!(names.family, family, "{name} {kind} {unit}");
            assert_eq!(names.sample, sample, "{name} {kind} {unit}");
            assert_eq!(names.unit.as_deref(), om_unit, "{name} {kind} {unit}");
        }
    }

    #[test]
    fn label_names_are_valid_and_not_reserved() {
        for (key, expected) in [
            ("worker", "worker"),
            ("http.method", "http_method"),
            ("0day", "key_0day"),
            ("__name__", "key___name__"),
            ("a:b", "a_b"),
        ] {
            assert_eq!(label_name(key), expected);
        }
    }
}
