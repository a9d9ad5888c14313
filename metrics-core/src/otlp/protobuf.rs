//! The request as protobuf, written in one pass over the values (see `wire`).
//!
//! ```text
//! ExportMetricsServiceRequest { resource_metrics (1): ResourceMetrics {
//!   resource (1), scope_metrics (2): ScopeMetrics { scope (1), metrics (2): Metric {
//!     name (1), description (2), unit (3), gauge (5) | sum (7) {
//!       data_points (1): NumberDataPoint {
//!         start_time_unix_nano (2, fixed64), time_unix_nano (3, fixed64),
//!         as_double (4, double) | as_int (6, sfixed64), attributes (7): KeyValue {
//!           key (1), value (2): AnyValue { string_value (1) | bool_value (2) | int_value (3) } } },
//!       aggregation_temporality (2), is_monotonic (3) } } } } }
//! ```

use super::context::{OtlpContext, RequestTimes};
use super::prepared::{DeltaKinds, NumberValue, Prepared, PreparedMetric};
use super::walk::{walk, Attributes, Distribution, Sink};
use super::wire::{self, Nested};
use crate::labels::LabelValue;
use crate::{ExponentialBuckets, ExponentialHistogramPoint, HistogramPoint, Visitor};

/// Writes the request: the context's resource and scope, then the metrics `visit` gives points;
/// with `delta`, the metrics of its kinds are deltas starting at its time.
pub(super) fn encode(
    out: &mut Vec<u8>,
    context: &OtlpContext,
    point_times: RequestTimes,
    prepared: &Prepared,
    delta: Option<(u64, DeltaKinds)>,
    visit: impl FnOnce(&mut dyn Visitor),
) {
    // The enclosing messages' and labeled metrics' lengths are reserved as large as they
    // were last time (see `wire::LengthHint`); an unlabeled metric has at most one point
    // and is sized exactly.
    let [resource_hint, scope_hint] = &prepared.protobuf_hints;
    let resource_metrics = wire::begin(out, 1, resource_hint.get());
    out.extend_from_slice(&context.resource_protobuf);
    let scope_metrics = wire::begin(out, 2, scope_hint.get());
    out.extend_from_slice(&context.scope_protobuf);
    let mut sink = ProtobufSink {
        out,
        times: times(point_times.start_time_unix_nano, point_times.time_unix_nano),
        delta_times: delta.map(|(start, kinds)| (times(start, point_times.time_unix_nano), kinds)),
        open: None,
    };
    walk(&prepared.metrics, visit, &mut sink);
    scope_hint.set(wire::end(out, scope_metrics));
    resource_hint.set(wire::end(out, resource_metrics));
}

/// The start time and time fields as written.
fn times(start: u64, time: u64) -> [u8; 18] {
    let mut times = [0; 18];
    times[0] = wire::i64_key(2);
    times[1..9].copy_from_slice(&start.to_le_bytes());
    times[9] = wire::i64_key(3);
    times[10..].copy_from_slice(&time.to_le_bytes());
    times
}

struct ProtobufSink<'a> {
    out: &'a mut Vec<u8>,
    /// The start time and time fields as written: a Sum's points carry both, a Gauge's the
    /// last 9 bytes.
    times: [u8; 18],
    /// With delta temporality, the delta points' times.
    delta_times: Option<([u8; 18], DeltaKinds)>,
    /// The open labeled Metric and its Gauge or Sum.
    open: Option<(Nested, Nested)>,
}

/// The time fields `metric`'s points carry and the fields after its points (temporality,
/// monotonicity), from [`ProtobufSink`]'s times.
fn times_and_tail<'t>(
    times: &'t [u8; 18],
    delta_times: Option<&'t ([u8; 18], DeltaKinds)>,
    metric: &PreparedMetric,
) -> (&'t [u8], &'static [u8]) {
    match delta_times {
        Some((delta, kinds)) if metric.is_delta(*kinds) => (delta, metric.protobuf_data_tail_delta),
        _ if metric.is_sum => (times, metric.protobuf_data_tail),
        _ => (&times[9..], metric.protobuf_data_tail),
    }
}

/// The length of a data point without attributes: its times and its value (key and 8 bytes).
fn point_len(times: &[u8]) -> usize {
    times.len() + 9
}

/// Appends a data point's times and value.
#[inline]
fn point_body(out: &mut Vec<u8>, times: &[u8], value: NumberValue) {
    out.extend_from_slice(times);
    let (key, bytes) = match value {
        NumberValue::Double(v) => (wire::i64_key(4), v.to_le_bytes()),
        NumberValue::Int(v) => (wire::i64_key(6), v.to_le_bytes()),
    };
    out.push(key);
    out.extend_from_slice(&bytes);
}

impl Sink for ProtobufSink<'_> {
    fn begin_metric(&mut self, metric: &PreparedMetric) {
        // An unlabeled number metric is written whole with its point.
        if !metric.labeled {
            return;
        }
        let out = &mut *self.out;
        let [metric_hint, data_hint] = &metric.protobuf_hints;
        let nested = wire::begin(out, 2, metric_hint.get());
        out.extend_from_slice(&metric.protobuf_head);
        let data = wire::begin(out, metric.protobuf_data_field, data_hint.get());
        self.open = Some((nested, data));
    }

    #[inline]
    fn number_point(
        &mut self,
        metric: &PreparedMetric,
        attributes: Attributes<'_>,
        value: NumberValue,
    ) {
        let (times, tail) = times_and_tail(&self.times, self.delta_times.as_ref(), metric);
        let point_len = point_len(times);
        let out = &mut *self.out;
        if !metric.labeled {
            // Metric { head, gauge | sum { data_points: [point], tail } }, sized exactly.
            let data_len = 1 + wire::varint_len(point_len as u64) + point_len + tail.len();
            let metric_len =
                metric.protobuf_head.len() + 1 + wire::varint_len(data_len as u64) + data_len;
            out.push(wire::len_key(2));
            wire::varint(out, metric_len as u64);
            out.extend_from_slice(&metric.protobuf_head);
            out.push(wire::len_key(metric.protobuf_data_field));
            wire::varint(out, data_len as u64);
            out.push(wire::len_key(1));
            wire::varint(out, point_len as u64);
            point_body(out, times, value);
            out.extend_from_slice(tail);
            return;
        }
        // The common map, one string key: sized and written in one go.
        if let ([key], Attributes::Keys([LabelValue::Str(text)])) =
            (&*metric.protobuf_keys, attributes)
        {
            let any_len = 1 + wire::varint_len(text.len() as u64) + text.len();
            let key_value_len = key.len() + 1 + wire::varint_len(any_len as u64) + any_len;
            let attribute_len = 1 + wire::varint_len(key_value_len as u64) + key_value_len;
            out.push(wire::len_key(1));
            wire::varint(out, (point_len + attribute_len) as u64);
            point_body(out, times, value);
            out.push(wire::len_key(7));
            wire::varint(out, key_value_len as u64);
            out.extend_from_slice(key);
            out.push(wire::len_key(2));
            wire::varint(out, any_len as u64);
            wire::bytes_field(out, 1, text.as_bytes());
            return;
        }
        out.push(wire::len_key(1));
        wire::varint(out, (point_len + attributes_len(metric, attributes)) as u64);
        point_body(out, times, value);
        write_attributes(out, 7, metric, attributes);
    }

    fn distribution_point(
        &mut self,
        metric: &PreparedMetric,
        attributes: Attributes<'_>,
        value: Distribution<'_>,
    ) {
        match value {
            Distribution::Histogram(point) => self.histogram(metric, attributes, point),
            Distribution::Exponential(point) => self.exponential(metric, attributes, point),
        }
    }

    fn end_metric(&mut self, metric: &PreparedMetric) {
        if let Some((nested, data)) = self.open.take() {
            let (_, tail) = times_and_tail(&self.times, self.delta_times.as_ref(), metric);
            self.out.extend_from_slice(tail);
            let [metric_hint, data_hint] = &metric.protobuf_hints;
            data_hint.set(wire::end(self.out, data));
            metric_hint.set(wire::end(self.out, nested));
        }
    }
}

/// The `KeyValue.key` (1) field of the overflow attribute.
const OVERFLOW_KEY: &[u8] = b"\x0a\x14otel.metric.overflow";

/// The length of a point's attributes: `[KeyValue { key, value: AnyValue }]`, each sized
/// directly (their field number is below 16, one byte, whatever the point type).
#[inline]
fn attributes_len(metric: &PreparedMetric, attributes: Attributes<'_>) -> usize {
    attributes
        .pairs(&metric.protobuf_keys, OVERFLOW_KEY)
        .map(|(key, label)| {
            let len = key_value_len(key, label);
            1 + wire::varint_len(len as u64) + len
        })
        .sum()
}

/// Appends a point's attributes as field `field`.
#[inline]
fn write_attributes(
    out: &mut Vec<u8>,
    field: u8,
    metric: &PreparedMetric,
    attributes: Attributes<'_>,
) {
    for (key, label) in attributes.pairs(&metric.protobuf_keys, OVERFLOW_KEY) {
        out.push(wire::len_key(field));
        wire::varint(out, key_value_len(key, label) as u64);
        out.extend_from_slice(key);
        out.push(wire::len_key(2));
        wire::varint(out, any_value_len(label) as u64);
        any_value(out, label);
    }
}

impl ProtobufSink<'_> {
    /// A `HistogramDataPoint`: times (2, 3), count (4), sum (5), bucket_counts (6, packed
    /// fixed64), explicit_bounds (7, packed double), attributes (9), min (11), max (12).
    fn histogram(
        &mut self,
        metric: &PreparedMetric,
        attributes: Attributes<'_>,
        point: &HistogramPoint<'_>,
    ) {
        let (times, _) = times_and_tail(&self.times, self.delta_times.as_ref(), metric);
        let sum = point.sum.is_finite().then_some(point.sum);
        let len = times.len()
            + 9
            + optional_double_len(sum)
            + packed_fixed_len(point.bucket_counts.len())
            + packed_fixed_len(point.bounds.len())
            + optional_double_len(point.min)
            + optional_double_len(point.max)
            + attributes_len(metric, attributes);
        let out = &mut *self.out;
        out.push(wire::len_key(1));
        wire::varint(out, len as u64);
        out.extend_from_slice(times);
        fixed(out, 4, point.count.to_le_bytes());
        optional_double(out, 5, sum);
        if !point.bucket_counts.is_empty() {
            out.push(wire::len_key(6));
            wire::varint(out, 8 * point.bucket_counts.len() as u64);
            for count in point.bucket_counts {
                out.extend_from_slice(&count.to_le_bytes());
            }
        }
        if !point.bounds.is_empty() {
            out.push(wire::len_key(7));
            wire::varint(out, 8 * point.bounds.len() as u64);
            for bound in point.bounds {
                out.extend_from_slice(&bound.to_le_bytes());
            }
        }
        write_attributes(out, 9, metric, attributes);
        optional_double(out, 11, point.min);
        optional_double(out, 12, point.max);
    }

    /// An `ExponentialHistogramDataPoint`: attributes (1), times (2, 3), count (4), sum (5),
    /// scale (6, sint32), zero_count (7), positive (8) and negative (9) `Buckets { offset (1,
    /// sint32), bucket_counts (2, packed uint64) }` (always present), min (12), max (13),
    /// zero_threshold (14, when not 0).
    fn exponential(
        &mut self,
        metric: &PreparedMetric,
        attributes: Attributes<'_>,
        point: &ExponentialHistogramPoint<'_>,
    ) {
        let (times, _) = times_and_tail(&self.times, self.delta_times.as_ref(), metric);
        let sum = point.sum.is_finite().then_some(point.sum);
        let threshold = (point.zero_threshold != 0.0).then_some(point.zero_threshold);
        let (positive, negative) = (buckets_len(&point.positive), buckets_len(&point.negative));
        let scale = zigzag(point.scale);
        let len = attributes_len(metric, attributes)
            + times.len()
            + 9
            + optional_double_len(sum)
            + if scale != 0 {
                1 + wire::varint_len(scale)
            } else {
                0
            }
            + 9
            + 1
            + wire::varint_len(positive as u64)
            + positive
            + 1
            + wire::varint_len(negative as u64)
            + negative
            + optional_double_len(point.min)
            + optional_double_len(point.max)
            + optional_double_len(threshold);
        let out = &mut *self.out;
        out.push(wire::len_key(1));
        wire::varint(out, len as u64);
        write_attributes(out, 1, metric, attributes);
        out.extend_from_slice(times);
        fixed(out, 4, point.count.to_le_bytes());
        optional_double(out, 5, sum);
        if scale != 0 {
            out.push(wire::varint_key(6));
            wire::varint(out, scale);
        }
        fixed(out, 7, point.zero_count.to_le_bytes());
        for (field, buckets, len) in [
            (8, &point.positive, positive),
            (9, &point.negative, negative),
        ] {
            out.push(wire::len_key(field));
            wire::varint(out, len as u64);
            write_buckets(out, buckets);
        }
        optional_double(out, 12, point.min);
        optional_double(out, 13, point.max);
        optional_double(out, 14, threshold);
    }
}

/// A 64-bit field (`fixed64` or `double`): key and 8 bytes.
#[inline]
fn fixed(out: &mut Vec<u8>, field: u8, bytes: [u8; 8]) {
    out.push(wire::i64_key(field));
    out.extend_from_slice(&bytes);
}

fn optional_double_len(value: Option<f64>) -> usize {
    if value.is_some() {
        9
    } else {
        0
    }
}

fn optional_double(out: &mut Vec<u8>, field: u8, value: Option<f64>) {
    if let Some(value) = value {
        fixed(out, field, value.to_le_bytes());
    }
}

/// A packed repeated 64-bit field of `n` values; nothing when empty.
fn packed_fixed_len(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        1 + wire::varint_len(8 * n as u64) + 8 * n
    }
}

/// sint32's zigzag encoding.
fn zigzag(value: i32) -> u64 {
    u64::from(((value << 1) ^ (value >> 31)) as u32)
}

/// The body length of `Buckets { offset, bucket_counts }`.
fn buckets_len(buckets: &ExponentialBuckets<'_>) -> usize {
    let offset = zigzag(buckets.offset);
    let counts: usize = buckets.counts.iter().map(|&c| wire::varint_len(c)).sum();
    (if offset != 0 {
        1 + wire::varint_len(offset)
    } else {
        0
    }) + if counts != 0 {
        1 + wire::varint_len(counts as u64) + counts
    } else {
        0
    }
}

fn write_buckets(out: &mut Vec<u8>, buckets: &ExponentialBuckets<'_>) {
    let offset = zigzag(buckets.offset);
    if offset != 0 {
        out.push(wire::varint_key(1));
        wire::varint(out, offset);
    }
    let counts: usize = buckets.counts.iter().map(|&c| wire::varint_len(c)).sum();
    if counts != 0 {
        out.push(wire::len_key(2));
        wire::varint(out, counts as u64);
        for &count in buckets.counts {
            wire::varint(out, count);
        }
    }
}

/// The length of an `AnyValue` holding `label`. A oneof member is written even when it is
/// its type's default value, as prost writes it.
#[inline]
fn any_value_len(label: LabelValue<'_>) -> usize {
    match label {
        LabelValue::Str(text) => 1 + wire::varint_len(text.len() as u64) + text.len(),
        LabelValue::Bool(_) => 2,
        // int64 is a varint of its two's complement: 10 bytes when negative.
        LabelValue::I64(v) => 1 + wire::varint_len(v as u64),
    }
}

/// The length of a `KeyValue` with the prepared `key` field and `label`.
#[inline]
fn key_value_len(key: &[u8], label: LabelValue<'_>) -> usize {
    let any = any_value_len(label);
    key.len() + 1 + wire::varint_len(any as u64) + any
}

/// Appends an `AnyValue`'s body: `string_value` (1), `bool_value` (2) or `int_value` (3).
#[inline]
fn any_value(out: &mut Vec<u8>, label: LabelValue<'_>) {
    match label {
        LabelValue::Str(text) => wire::bytes_field(out, 1, text.as_bytes()),
        LabelValue::Bool(v) => {
            out.push(wire::varint_key(2));
            out.push(u8::from(v));
        }
        LabelValue::I64(v) => {
            out.push(wire::varint_key(3));
            wire::varint(out, v as u64);
        }
    }
}

#[cfg(test)]
mod overflow_tests {
    use super::*;

    #[test]
    fn the_overflow_key_is_the_attribute_name_as_a_key_field() {
        let mut field = Vec::new();
        wire::bytes_field(&mut field, 1, crate::family::OVERFLOW_ATTRIBUTE.as_bytes());
        assert_eq!(field, OVERFLOW_KEY);
    }
}
