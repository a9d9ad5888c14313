//! [`ExponentialHistogramSnapshot`]: an exponential histogram's state as plain data, and the
//! JSON both exponential histogram types write.

use std::fmt;
use std::io;

use serde::de::{self, MapAccess, Visitor as DeVisitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::json::JsonFormat;
use crate::labels::LabelValue;
use crate::schema::ValueType;
use crate::{
    ExponentialBuckets, ExponentialHistogramPoint, MetricValue, Number, PointValue, Visitor,
};

/// An exponential histogram's state as plain data: what [`ExponentialHistogram::snapshot`]
/// returns, and a field type for snapshot structs.
///
/// Its JSON is flat: `{"scale":..,"zero_count":..,"positive_offset":..,"positive_counts":[..],
/// "negative_offset":..,"negative_counts":[..],"count":..,"sum":..,"min":..,"max":..}`, from
/// serde_json and [`crate::json`] alike; it reads back with `Deserialize`. Exported only with
/// a scale within OpenTelemetry's range (-10 to 20); the count is the sum of the buckets.
///
/// [`ExponentialHistogram::snapshot`]: crate::ExponentialHistogram::snapshot
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExponentialHistogramSnapshot {
    /// The resolution: the base is `2^(2^-scale)`.
    pub scale: i32,
    /// Exact zeros.
    pub zero_count: u64,
    /// The index of the first positive bucket.
    pub positive_offset: i32,
    /// Counts of positive buckets from `positive_offset` on.
    pub positive_counts: Vec<u64>,
    /// The index of the first negative bucket (by absolute value).
    pub negative_offset: i32,
    /// Counts of negative buckets from `negative_offset` on.
    pub negative_counts: Vec<u64>,
    /// The number of values recorded.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest; `None` before the first record.
    pub min: Option<f64>,
    /// The largest; `None` before the first record.
    pub max: Option<f64>,
}

const FIELDS: &[&str] = &[
    "scale",
    "zero_count",
    "positive_offset",
    "positive_counts",
    "negative_offset",
    "negative_counts",
    "count",
    "sum",
    "min",
    "max",
];

/// Writes a point as [`ExponentialHistogramSnapshot`]'s JSON shape.
pub(crate) fn serialize_exponential<S: Serializer>(
    point: &ExponentialHistogramPoint<'_>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut state = serializer.serialize_struct("ExponentialHistogramSnapshot", FIELDS.len())?;
    state.serialize_field("scale", &point.scale)?;
    state.serialize_field("zero_count", &point.zero_count)?;
    state.serialize_field("positive_offset", &point.positive.offset)?;
    state.serialize_field("positive_counts", point.positive.counts)?;
    state.serialize_field("negative_offset", &point.negative.offset)?;
    state.serialize_field("negative_counts", point.negative.counts)?;
    state.serialize_field("count", &point.count)?;
    state.serialize_field("sum", &point.sum)?;
    state.serialize_field("min", &point.min)?;
    state.serialize_field("max", &point.max)?;
    state.end()
}

impl ExponentialHistogramSnapshot {
    pub(crate) fn from_point(point: &ExponentialHistogramPoint<'_>) -> Self {
        ExponentialHistogramSnapshot {
            scale: point.scale,
            zero_count: point.zero_count,
            positive_offset: point.positive.offset,
            positive_counts: point.positive.counts.to_vec(),
            negative_offset: point.negative.offset,
            negative_counts: point.negative.counts.to_vec(),
            count: point.count,
            sum: point.sum,
            min: point.min,
            max: point.max,
        }
    }

    fn point(&self, count: u64) -> ExponentialHistogramPoint<'_> {
        ExponentialHistogramPoint {
            scale: self.scale,
            zero_count: self.zero_count,
            zero_threshold: 0.0,
            positive: ExponentialBuckets {
                offset: self.positive_offset,
                counts: &self.positive_counts,
            },
            negative: ExponentialBuckets {
                offset: self.negative_offset,
                counts: &self.negative_counts,
            },
            count,
            sum: self.sum,
            min: self.min,
            max: self.max,
        }
    }
}

impl Serialize for ExponentialHistogramSnapshot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_exponential(&self.point(self.count), serializer)
    }
}

/// Written by hand: the light core compiles no serde derive.
impl<'de> Deserialize<'de> for ExponentialHistogramSnapshot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("ExponentialHistogramSnapshot", FIELDS, SnapshotVisitor)
    }
}

struct SnapshotVisitor;

impl<'de> DeVisitor<'de> for SnapshotVisitor {
    type Value = ExponentialHistogramSnapshot;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an exponential histogram snapshot")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = ExponentialHistogramSnapshot::default();
        let mut seen = [false; 10];
        while let Some(key) = map.next_key::<String>()? {
            let Some(at) = FIELDS.iter().position(|f| *f == key) else {
                return Err(de::Error::unknown_field(&key, FIELDS));
            };
            if std::mem::replace(&mut seen[at], true) {
                return Err(de::Error::duplicate_field(FIELDS[at]));
            }
            match at {
                0 => out.scale = map.next_value()?,
                1 => out.zero_count = map.next_value()?,
                2 => out.positive_offset = map.next_value()?,
                3 => out.positive_counts = map.next_value()?,
                4 => out.negative_offset = map.next_value()?,
                5 => out.negative_counts = map.next_value()?,
                6 => out.count = map.next_value()?,
                7 => out.sum = map.next_value()?,
                8 => out.min = map.next_value()?,
                _ => out.max = map.next_value()?,
            }
        }
        // `min` and `max` may be absent (`None`); the others are required.
        for (at, seen) in seen.iter().enumerate().take(8) {
            if !seen {
                return Err(de::Error::missing_field(FIELDS[at]));
            }
        }
        Ok(out)
    }
}

impl MetricValue for ExponentialHistogramSnapshot {
    const VALUE_TYPE: ValueType = ValueType::ExponentialHistogram;

    fn metric_value(&self) -> Option<Number> {
        None
    }

    fn visit_point(&self, labels: &[LabelValue<'_>], visitor: &mut dyn Visitor) {
        if !(super::mapping::MIN_SCALE..=super::mapping::MAX_SCALE).contains(&self.scale) {
            return;
        }
        let total = |counts: &[u64]| counts.iter().fold(0u64, |a, &b| a.wrapping_add(b));
        let count = self
            .zero_count
            .wrapping_add(total(&self.positive_counts))
            .wrapping_add(total(&self.negative_counts));
        visitor.point(labels, PointValue::ExponentialHistogram(&self.point(count)));
    }

    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        format.serialize(writer, self)
    }
}
