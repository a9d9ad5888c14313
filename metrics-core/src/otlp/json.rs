//! The request as OTLP/JSON: the protobuf JSON mapping with lowerCamelCase keys, 64-bit
//! integers as decimal strings, enums as integers, default values left out.

use serde_json::ser::{CompactFormatter, Formatter};

use super::context::{OtlpContext, RequestTimes};
use super::prepared::{DeltaKinds, NumberValue, PreparedMetric};
use super::walk::{walk, Attributes, Distribution, Sink};
use crate::json::needs_escape;
use crate::labels::LabelValue;
use crate::{ExponentialBuckets, ExponentialHistogramPoint, HistogramPoint, Visitor};

/// Appends `value` as a JSON string, escaped as serde_json escapes.
#[inline]
pub(super) fn string(out: &mut Vec<u8>, value: &str) {
    // Label values rarely need escaping: such a string is its bytes between quotes, copied
    // at once rather than through serde_json's writer, a call per run of plain bytes.
    if !needs_escape(value) {
        out.reserve(value.len() + 2);
        out.push(b'"');
        out.extend_from_slice(value.as_bytes());
        out.push(b'"');
        return;
    }
    // Serializing a `str` into a Vec cannot fail, and allocates nothing but the Vec's growth.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Appends `{"key":..,"value":{"stringValue":..}}`.
pub(super) fn key_value(out: &mut Vec<u8>, key: &str, value: &str) {
    out.extend_from_slice(b"{\"key\":");
    string(out, key);
    out.extend_from_slice(b",\"value\":{\"stringValue\":");
    string(out, value);
    out.extend_from_slice(b"}}");
}

/// The start time and time members as every point writes them, built once per request.
struct Times {
    bytes: [u8; 96],
    len: usize,
    /// Where `"timeUnixNano"` starts: a Gauge's points write only from here.
    time_at: usize,
}

impl Times {
    fn new(start: u64, time: u64) -> Times {
        let mut times = Times {
            bytes: [0; 96],
            len: 0,
            time_at: 0,
        };
        times.push(b"\"startTimeUnixNano\":\"");
        times.push_u64(start);
        times.push(b"\",");
        times.time_at = times.len;
        times.push(b"\"timeUnixNano\":\"");
        times.push_u64(time);
        times.push(b"\",");
        times
    }

    fn push(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn push_u64(&mut self, value: u64) {
        let mut rest = &mut self.bytes[self.len..];
        let before = rest.len();
        // At most 20 digits; the array has room for both numbers.
        let _ = CompactFormatter.write_u64(&mut rest, value);
        self.len += before - rest.len();
    }

    #[inline]
    fn for_metric(&self, metric: &PreparedMetric) -> &[u8] {
        let from = if metric.is_sum { 0 } else { self.time_at };
        &self.bytes[from..self.len]
    }
}

/// Writes the request: the context's resource and scope, then the metrics `visit` gives points;
/// with `delta`, the metrics of its kinds are deltas starting at its time.
pub(super) fn encode(
    out: &mut Vec<u8>,
    context: &OtlpContext,
    point_times: RequestTimes,
    metrics: &[PreparedMetric],
    delta: Option<(u64, DeltaKinds)>,
    visit: impl FnOnce(&mut dyn Visitor),
) {
    out.extend_from_slice(b"{\"resourceMetrics\":[{");
    out.extend_from_slice(&context.resource_json);
    out.extend_from_slice(b",\"scopeMetrics\":[{");
    out.extend_from_slice(&context.scope_json);
    out.extend_from_slice(b",\"metrics\":[");
    let mut sink = JsonSink {
        out,
        times: Times::new(point_times.start_time_unix_nano, point_times.time_unix_nano),
        delta_times: delta
            .map(|(start, kinds)| (Times::new(start, point_times.time_unix_nano), kinds)),
        first_metric: true,
        first_point: true,
    };
    walk(metrics, visit, &mut sink);
    out.extend_from_slice(b"]}]}]}");
}

struct JsonSink<'a> {
    out: &'a mut Vec<u8>,
    times: Times,
    /// With delta temporality, the delta points' times.
    delta_times: Option<(Times, DeltaKinds)>,
    first_metric: bool,
    first_point: bool,
}

impl Sink for JsonSink<'_> {
    fn begin_metric(&mut self, metric: &PreparedMetric) {
        if !self.first_metric {
            self.out.push(b',');
        }
        self.first_metric = false;
        self.first_point = true;
        let head = match self.delta_times {
            Some((_, kinds)) if metric.is_delta(kinds) => &metric.json_head_delta,
            _ => &metric.json_head,
        };
        self.out.extend_from_slice(head);
    }

    #[inline]
    fn number_point(
        &mut self,
        metric: &PreparedMetric,
        attributes: Attributes<'_>,
        value: NumberValue,
    ) {
        let out = self.begin_point(metric, attributes);
        // Writing into a Vec cannot fail.
        match value {
            NumberValue::Int(v) => {
                out.extend_from_slice(b"\"asInt\":\"");
                let _ = CompactFormatter.write_i64(out, v);
                out.extend_from_slice(b"\"}");
            }
            NumberValue::Double(v) => {
                out.extend_from_slice(b"\"asDouble\":");
                let _ = CompactFormatter.write_f64(out, v);
                out.push(b'}');
            }
        }
    }

    fn distribution_point(
        &mut self,
        metric: &PreparedMetric,
        attributes: Attributes<'_>,
        value: Distribution<'_>,
    ) {
        let out = self.begin_point(metric, attributes);
        match value {
            Distribution::Histogram(point) => histogram(out, point),
            Distribution::Exponential(point) => exponential(out, point),
        }
    }

    fn end_metric(&mut self, _metric: &PreparedMetric) {
        self.out.extend_from_slice(b"]}}");
    }
}

impl JsonSink<'_> {
    /// Opens a point: its attributes and times, up to its value's members.
    #[inline]
    fn begin_point(&mut self, metric: &PreparedMetric, attributes: Attributes<'_>) -> &mut Vec<u8> {
        let out = &mut *self.out;
        if !self.first_point {
            out.push(b',');
        }
        self.first_point = false;
        if attributes.is_empty() {
            out.push(b'{');
        } else {
            // Each prepared key opens the list or closes the attribute before it.
            for (key, label) in attributes.pairs(&metric.json_keys, OVERFLOW_KEY) {
                out.extend_from_slice(key);
                any_value(out, label);
            }
            out.extend_from_slice(b"}}],");
        }
        let times = match &self.delta_times {
            Some((delta, kinds)) if metric.is_delta(*kinds) => delta,
            _ => &self.times,
        };
        out.extend_from_slice(times.for_metric(metric));
        out
    }
}

/// What opens a point's list of attributes.
pub(super) const ATTRIBUTES: &[u8] = b"{\"attributes\":[";

/// The list of attributes opened and the overflow attribute's opening up to its value, as
/// a metric's first prepared key opens its own: the overflow attribute is always alone.
const OVERFLOW_KEY: &[u8] = b"{\"attributes\":[{\"key\":\"otel.metric.overflow\",\"value\":{";

/// An `AnyValue`'s member: `"stringValue":..`, `"intValue":".."` (64-bit integers are
/// strings in OTLP/JSON) or `"boolValue":..`.
#[inline]
fn any_value(out: &mut Vec<u8>, label: LabelValue<'_>) {
    // Writing into a Vec cannot fail.
    match label {
        LabelValue::Str(text) => {
            out.extend_from_slice(b"\"stringValue\":");
            string(out, text);
        }
        LabelValue::I64(v) => {
            out.extend_from_slice(b"\"intValue\":\"");
            let _ = CompactFormatter.write_i64(out, v);
            out.push(b'"');
        }
        LabelValue::Bool(v) => {
            out.extend_from_slice(if v {
                b"\"boolValue\":true"
            } else {
                b"\"boolValue\":false"
            });
        }
    }
}

/// `"count":"..","sum":..` and the closing members of a histogram point: 64-bit integers
/// as strings, `sum` left out when not finite.
fn count_and_sum(out: &mut Vec<u8>, count: u64, sum: f64) {
    out.extend_from_slice(b"\"count\":\"");
    let _ = CompactFormatter.write_u64(out, count);
    out.push(b'"');
    if sum.is_finite() {
        out.extend_from_slice(b",\"sum\":");
        let _ = CompactFormatter.write_f64(out, sum);
    }
}

/// `,"min":..,"max":..}` as far as they are known.
fn min_max_end(out: &mut Vec<u8>, min: Option<f64>, max: Option<f64>) {
    for (key, value) in [(&b",\"min\":"[..], min), (&b",\"max\":"[..], max)] {
        if let Some(value) = value {
            out.extend_from_slice(key);
            let _ = CompactFormatter.write_f64(out, value);
        }
    }
    out.push(b'}');
}

/// A list of 64-bit integers, as strings.
fn u64_strings(out: &mut Vec<u8>, values: &[u64]) {
    out.push(b'[');
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        let _ = CompactFormatter.write_u64(out, *value);
        out.push(b'"');
    }
    out.push(b']');
}

/// A `HistogramDataPoint`'s members after its times.
fn histogram(out: &mut Vec<u8>, point: &HistogramPoint<'_>) {
    count_and_sum(out, point.count, point.sum);
    out.extend_from_slice(b",\"bucketCounts\":");
    u64_strings(out, point.bucket_counts);
    out.extend_from_slice(b",\"explicitBounds\":[");
    for (i, bound) in point.bounds.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = CompactFormatter.write_f64(out, *bound);
    }
    out.push(b']');
    min_max_end(out, point.min, point.max);
}

/// An `ExponentialHistogramDataPoint`'s members after its times.
fn exponential(out: &mut Vec<u8>, point: &ExponentialHistogramPoint<'_>) {
    count_and_sum(out, point.count, point.sum);
    out.extend_from_slice(b",\"scale\":");
    let _ = CompactFormatter.write_i32(out, point.scale);
    out.extend_from_slice(b",\"zeroCount\":\"");
    let _ = CompactFormatter.write_u64(out, point.zero_count);
    out.push(b'"');
    if point.zero_threshold != 0.0 {
        out.extend_from_slice(b",\"zeroThreshold\":");
        let _ = CompactFormatter.write_f64(out, point.zero_threshold);
    }
    for (key, buckets) in [
        (&b",\"positive\":"[..], &point.positive),
        (&b",\"negative\":"[..], &point.negative),
    ] {
        out.extend_from_slice(key);
        buckets_json(out, buckets);
    }
    min_max_end(out, point.min, point.max);
}

fn buckets_json(out: &mut Vec<u8>, buckets: &ExponentialBuckets<'_>) {
    out.extend_from_slice(b"{\"offset\":");
    let _ = CompactFormatter.write_i32(out, buckets.offset);
    out.extend_from_slice(b",\"bucketCounts\":");
    u64_strings(out, buckets.counts);
    out.push(b'}');
}

#[cfg(test)]
mod string_tests {
    use super::*;

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for value in [
            "",
            "worker-000123",
            "quote \" and backslash \\",
            "tab\tnewline\n\u{1}\u{1f}",
            "\u{7f} del, é, 日本, 🦀",
            "\"",
            "eight by",
            "sixteen bytes ok",
            "\u{1}seven ninths",
            "nine byt\\",
            "long label value with a quote \" in the second word",
            "long label value with a quote in the last word\"",
        ] {
            let mut out = b"[".to_vec();
            string(&mut out, value);
            let mut expected = b"[".to_vec();
            serde_json::to_writer(&mut expected, value).unwrap();
            assert_eq!(
                String::from_utf8(out),
                String::from_utf8(expected),
                "{value:?}"
            );
        }
    }
}

#[cfg(test)]
mod overflow_tests {
    use super::*;

    #[test]
    fn the_overflow_key_opens_the_list_and_the_attribute_as_a_first_prepared_key_does() {
        let mut head = [ATTRIBUTES, b"{\"key\":"].concat();
        string(&mut head, crate::family::OVERFLOW_ATTRIBUTE);
        head.extend_from_slice(b",\"value\":{");
        assert_eq!(head, OVERFLOW_KEY);
    }
}
