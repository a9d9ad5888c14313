//! The static parts of a group type's metrics, encoded once per type: names with their full
//! dotted path, descriptions, units, kinds and label keys, as protobuf and JSON fragments.

use super::{json, wire};
use crate::schema::cache::PerSchema;
use crate::schema::{GroupSchema, MetricKind, ValueType};
use crate::Number;

/// What a metric's points are, in OTLP's terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Data {
    /// A Gauge of numbers.
    Gauge,
    /// A cumulative Sum of numbers.
    Sum { monotonic: bool },
    /// A Histogram, cumulative unless delta.
    Histogram,
    /// An ExponentialHistogram, cumulative unless delta.
    ExponentialHistogram,
}

/// Which kinds of metric delta temporality turns into deltas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct DeltaKinds {
    /// Counters (monotonic Sums).
    pub(super) counters: bool,
    /// Histograms, explicit and exponential.
    pub(super) histograms: bool,
}

/// One metric's fragments. A request is these, in schema order, around the points.
pub(super) struct PreparedMetric {
    pub(super) value_type: ValueType,
    pub(super) data: Data,
    /// Whether the points are numbers (a Gauge or a Sum).
    pub(super) numeric: bool,
    /// Cumulative metrics (Sums and histograms) carry a start time in their points.
    pub(super) is_sum: bool,
    /// Counters: the Sums that delta temporality turns into deltas.
    pub(super) monotonic: bool,
    /// Whether the metric is opened before its points (a map, or a histogram, whose points
    /// vary in size): otherwise it is written whole with its one point.
    pub(super) labeled: bool,
    /// `Metric` fields `name` (1), `description` (2), `unit` (3): the start of its body.
    pub(super) protobuf_head: Box<[u8]>,
    /// The `Metric` field holding the points: `gauge` (5), `sum` (7), `histogram` (9) or
    /// `exponential_histogram` (10).
    pub(super) protobuf_data_field: u8,
    /// The `aggregation_temporality` (2, cumulative) of a Sum or histogram and a Sum's
    /// `is_monotonic` (3), written after its points; empty for a Gauge.
    pub(super) protobuf_data_tail: &'static [u8],
    /// A counter's or histogram's tail with delta temporality (1); empty for other kinds.
    pub(super) protobuf_data_tail_delta: &'static [u8],
    /// Each attribute's `KeyValue.key` (1) field, in the order of the point's values.
    pub(super) protobuf_keys: Box<[Box<[u8]>]>,
    /// What an opened metric's `Metric` and data message lengths took last time.
    pub(super) protobuf_hints: [wire::LengthHint; 2],
    /// `{"name":..,"description":..,"unit":..,"sum":{..,"dataPoints":[`.
    pub(super) json_head: Box<[u8]>,
    /// A counter's or histogram's head with delta temporality; empty for other kinds.
    pub(super) json_head_delta: Box<[u8]>,
    /// Each attribute's opening up to its value, `{"key":..,"value":{`, after what comes
    /// before it: the list's opening `{"attributes":[` for the first, the previous
    /// attribute's closing `}},` for the others. Written whole with each point.
    pub(super) json_keys: Box<[Box<[u8]>]>,
}

/// The cumulative temporality (2) and `is_monotonic: true`; prost leaves `false` out too.
const MONOTONIC_SUM_TAIL: [u8; 4] = [wire::varint_key(2), 2, wire::varint_key(3), 1];
/// The cumulative temporality (2) alone: a non-monotonic Sum's, or a histogram's.
const CUMULATIVE_TAIL: [u8; 2] = [wire::varint_key(2), 2];
/// The delta temporality (1) and `is_monotonic: true`.
const MONOTONIC_DELTA_SUM_TAIL: [u8; 4] = [wire::varint_key(2), 1, wire::varint_key(3), 1];
/// The delta temporality (1) alone: a histogram's.
const DELTA_TAIL: [u8; 2] = [wire::varint_key(2), 1];

impl PreparedMetric {
    /// Whether this metric's points are deltas when `kinds` are.
    pub(super) fn is_delta(&self, kinds: DeltaKinds) -> bool {
        if self.numeric {
            self.monotonic && kinds.counters
        } else {
            kinds.histograms
        }
    }

    fn new(name: &str, descriptor: &crate::schema::MetricDescriptor) -> Self {
        let data = match descriptor.kind {
            MetricKind::Counter => Data::Sum { monotonic: true },
            MetricKind::UpDownCounter => Data::Sum { monotonic: false },
            MetricKind::Gauge => Data::Gauge,
            MetricKind::Histogram => Data::Histogram,
            MetricKind::ExponentialHistogram => Data::ExponentialHistogram,
        };
        let histogram = matches!(data, Data::Histogram | Data::ExponentialHistogram);
        let monotonic = data == Data::Sum { monotonic: true };
        let mut protobuf_head = Vec::new();
        wire::bytes_field(&mut protobuf_head, 1, name.as_bytes());
        // proto3 leaves empty strings out; so does prost, whose output the tests compare.
        if !descriptor.description.is_empty() {
            wire::bytes_field(&mut protobuf_head, 2, descriptor.description.as_bytes());
        }
        if !descriptor.unit.is_empty() {
            wire::bytes_field(&mut protobuf_head, 3, descriptor.unit.as_bytes());
        }
        let protobuf_keys = descriptor
            .labels
            .iter()
            .map(|key| {
                let mut field = Vec::new();
                wire::bytes_field(&mut field, 1, key.as_bytes());
                field.into_boxed_slice()
            })
            .collect();
        let json_keys = descriptor
            .labels
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let before: &[u8] = if i == 0 { json::ATTRIBUTES } else { b"}}," };
                let mut head = [before, b"{\"key\":"].concat();
                json::string(&mut head, key);
                head.extend_from_slice(b",\"value\":{");
                head.into_boxed_slice()
            })
            .collect();
        PreparedMetric {
            value_type: descriptor.value_type,
            data,
            numeric: !histogram,
            is_sum: data != Data::Gauge,
            monotonic,
            labeled: !descriptor.labels.is_empty() || histogram,
            protobuf_head: protobuf_head.into(),
            protobuf_data_field: match data {
                Data::Gauge => 5,
                Data::Sum { .. } => 7,
                Data::Histogram => 9,
                Data::ExponentialHistogram => 10,
            },
            protobuf_data_tail: match data {
                Data::Sum { monotonic: true } => &MONOTONIC_SUM_TAIL,
                Data::Gauge => &[],
                _ => &CUMULATIVE_TAIL,
            },
            protobuf_data_tail_delta: if monotonic {
                &MONOTONIC_DELTA_SUM_TAIL
            } else if histogram {
                &DELTA_TAIL
            } else {
                &[]
            },
            protobuf_keys,
            protobuf_hints: [wire::LengthHint::new(2), wire::LengthHint::new(2)],
            json_head: json_head(name, descriptor, data, false).into(),
            json_head_delta: if monotonic || histogram {
                json_head(name, descriptor, data, true).into()
            } else {
                Box::default()
            },
            json_keys,
        }
    }
}

/// A metric's JSON up to its first point; `delta` for a counter or histogram with delta
/// temporality.
fn json_head(
    name: &str,
    descriptor: &crate::schema::MetricDescriptor,
    data: Data,
    delta: bool,
) -> Vec<u8> {
    let mut out = b"{\"name\":".to_vec();
    json::string(&mut out, name);
    if !descriptor.description.is_empty() {
        out.extend_from_slice(b",\"description\":");
        json::string(&mut out, descriptor.description);
    }
    if !descriptor.unit.is_empty() {
        out.extend_from_slice(b",\"unit\":");
        json::string(&mut out, descriptor.unit);
    }
    out.extend_from_slice(match data {
        Data::Sum { monotonic: true } if delta => {
            b",\"sum\":{\"aggregationTemporality\":1,\"isMonotonic\":true,\"dataPoints\":["
        }
        Data::Sum { monotonic: true } => {
            b",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":["
        }
        Data::Sum { monotonic: false } => {
            b",\"sum\":{\"aggregationTemporality\":2,\"dataPoints\":["
        }
        Data::Gauge => b",\"gauge\":{\"dataPoints\":[",
        Data::Histogram if delta => {
            b",\"histogram\":{\"aggregationTemporality\":1,\"dataPoints\":["
        }
        Data::Histogram => b",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[",
        Data::ExponentialHistogram if delta => {
            b",\"exponentialHistogram\":{\"aggregationTemporality\":1,\"dataPoints\":["
        }
        Data::ExponentialHistogram => {
            b",\"exponentialHistogram\":{\"aggregationTemporality\":2,\"dataPoints\":["
        }
    });
    out
}

/// A point's value as OTLP carries it: `as_int` or `as_double`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum NumberValue {
    Int(i64),
    Double(f64),
}

impl NumberValue {
    /// `value` for a metric of `value_type`, or `None` for NaN and infinities, which OTLP
    /// cannot carry. Integers are sent as `as_int`, a signed 64-bit integer: unsigned values
    /// above `i64::MAX` saturate to `i64::MAX`; a float on an integer metric (only a custom
    /// `MetricValue` can give one) is truncated, saturating.
    pub(super) fn new(value_type: ValueType, value: Number) -> Option<Self> {
        if let Number::F64(v) = value {
            if !v.is_finite() {
                return None;
            }
        }
        Some(match (value_type, value) {
            (ValueType::F64, value) => NumberValue::Double(value.as_f64()),
            (_, value) => NumberValue::Int(value.as_i64_saturating()),
        })
    }
}

/// The fragments of every metric of a group type, in schema order.
pub(super) struct Prepared {
    pub(super) metrics: Box<[PreparedMetric]>,
    /// What the `ResourceMetrics` and `ScopeMetrics` lengths took last time.
    pub(super) protobuf_hints: [wire::LengthHint; 2],
}

/// The prepared fragments of `schema`, built at its first encode.
///
/// They are kept for the life of the program, like the `&'static` schema they come from:
/// one set per group type ever encoded, found by the schema's address.
pub(super) fn prepared(schema: &'static GroupSchema) -> &'static Prepared {
    static CACHE: PerSchema<Prepared> = PerSchema::new();
    CACHE.get(schema, |schema| Prepared {
        metrics: schema
            .metrics()
            .map(|metric| PreparedMetric::new(&metric.name, metric.descriptor))
            .collect(),
        protobuf_hints: [wire::LengthHint::new(2), wire::LengthHint::new(2)],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_otlp_cannot_carry_are_left_out_and_large_integers_saturate() {
        use NumberValue::{Double, Int};
        let cases = [
            (ValueType::U64, Number::U64(u64::MAX), Some(Int(i64::MAX))),
            (ValueType::U64, Number::U64(1 << 63), Some(Int(i64::MAX))),
            (
                ValueType::U64,
                Number::U64(i64::MAX as u64),
                Some(Int(i64::MAX)),
            ),
            (ValueType::I64, Number::I64(i64::MIN), Some(Int(i64::MIN))),
            (ValueType::F64, Number::F64(-0.0), Some(Double(-0.0))),
            (ValueType::F64, Number::F64(f64::NAN), None),
            (ValueType::F64, Number::F64(f64::INFINITY), None),
            (ValueType::F64, Number::F64(f64::NEG_INFINITY), None),
            (ValueType::U64, Number::F64(f64::NAN), None),
            (ValueType::I64, Number::F64(1e300), Some(Int(i64::MAX))),
        ];
        for (value_type, value, expected) in cases {
            assert_eq!(NumberValue::new(value_type, value), expected, "{value:?}");
        }
        // -0.0 keeps its sign.
        let Some(Double(zero)) = NumberValue::new(ValueType::F64, Number::F64(-0.0)) else {
            unreachable!()
        };
        assert!(zero.is_sign_negative());
    }
}
