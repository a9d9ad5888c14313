//! A metric's Prometheus names as the encoder keeps them: OpenTelemetry's compatibility
//! rules are `metrics_rules::prometheus`'s, shared with the compile-time check that no two
//! metrics of a group share a name (`super::collisions`); this only turns them into
//! `String`s, once per group type.

use metrics_rules::prometheus::{self as rules, PrometheusName};

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
    let kind = kind.as_str();
    let family = rules::family_name(&[name], kind, unit);
    let suffix = rules::unit_suffix(unit, kind);
    MetricNames {
        family: owned(&family),
        sample: owned(&rules::sample_name(family, kind)),
        unit: (!suffix.is_empty()).then(|| owned(&suffix)),
    }
}

/// A label key as a Prometheus label name (see `metrics_rules::prometheus::label_name`).
pub(super) fn label_name(key: &str) -> String {
    owned(&rules::label_name(key))
}

fn owned(name: &PrometheusName) -> String {
    name.as_str().to_owned()
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
