//! [`HistogramSnapshot`]: a histogram's state as plain data, for snapshot structs, and the
//! JSON both histogram types write.

use std::fmt;
use std::io;

use serde::de::{self, MapAccess, Visitor as DeVisitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::json::JsonFormat;
use crate::labels::LabelValue;
use crate::schema::ValueType;
use crate::{HistogramPoint, MetricValue, Number, PointValue, Visitor};

/// An explicit-bucket histogram's state as plain data: what [`Histogram::snapshot`] returns,
/// and a field type for snapshot structs (a histogram metric, like [`Histogram`]).
///
/// Its JSON is `{"bounds":[..],"bucket_counts":[..],"count":..,"sum":..,"min":..,"max":..}`
/// (`min` and `max` are `null` before the first record), from serde_json and
/// [`crate::json`] alike, and it reads back with `Deserialize`. A point is exported only when
/// it is well-formed (one more count than bounds); its count is the sum of the buckets.
///
/// [`Histogram`]: crate::Histogram
/// [`Histogram::snapshot`]: crate::Histogram::snapshot
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HistogramSnapshot {
    /// The bucket bounds.
    pub bounds: Vec<f64>,
    /// One count per bucket, the last for values above the last bound.
    pub bucket_counts: Vec<u64>,
    /// The number of values recorded.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The smallest; `None` before the first record.
    pub min: Option<f64>,
    /// The largest; `None` before the first record.
    pub max: Option<f64>,
}

const FIELDS: &[&str] = &["bounds", "bucket_counts", "count", "sum", "min", "max"];

/// Writes a histogram point as [`HistogramSnapshot`]'s JSON shape.
pub(crate) fn serialize_histogram<S: Serializer>(
    point: &HistogramPoint<'_>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut state = serializer.serialize_struct("HistogramSnapshot", FIELDS.len())?;
    state.serialize_field("bounds", point.bounds)?;
    state.serialize_field("bucket_counts", point.bucket_counts)?;
    state.serialize_field("count", &point.count)?;
    state.serialize_field("sum", &point.sum)?;
    state.serialize_field("min", &point.min)?;
    state.serialize_field("max", &point.max)?;
    state.end()
}

impl HistogramSnapshot {
    /// The point this snapshot exports, if well-formed.
    fn point(&self) -> Option<HistogramPoint<'_>> {
        (self.bucket_counts.len() == self.bounds.len() + 1).then(|| HistogramPoint {
            bounds: &self.bounds,
            bucket_counts: &self.bucket_counts,
            count: self.bucket_counts.iter().fold(0, |a, &b| a.wrapping_add(b)),
            sum: self.sum,
            min: self.min,
            max: self.max,
        })
    }
}

impl Serialize for HistogramSnapshot {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let point = HistogramPoint {
            bounds: &self.bounds,
            bucket_counts: &self.bucket_counts,
            count: self.count,
            sum: self.sum,
            min: self.min,
            max: self.max,
        };
        serialize_histogram(&point, serializer)
    }
}

/// Written by hand: the light core compiles no serde derive.
impl<'de> Deserialize<'de> for HistogramSnapshot {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("HistogramSnapshot", FIELDS, SnapshotVisitor)
    }
}

struct SnapshotVisitor;

impl<'de> DeVisitor<'de> for SnapshotVisitor {
    type Value = HistogramSnapshot;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a histogram snapshot")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HistogramSnapshot, A::Error> {
        let mut bounds = None;
        let mut bucket_counts = None;
        let mut count = None;
        let mut sum = None;
        let mut min = None;
        let mut max = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "bounds" => set(&mut bounds, &mut map, "bounds")?,
                "bucket_counts" => set(&mut bucket_counts, &mut map, "bucket_counts")?,
                "count" => set(&mut count, &mut map, "count")?,
                "sum" => set(&mut sum, &mut map, "sum")?,
                "min" => set(&mut min, &mut map, "min")?,
                "max" => set(&mut max, &mut map, "max")?,
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            }
        }
        Ok(HistogramSnapshot {
            bounds: bounds.ok_or_else(|| de::Error::missing_field("bounds"))?,
            bucket_counts: bucket_counts
                .ok_or_else(|| de::Error::missing_field("bucket_counts"))?,
            count: count.ok_or_else(|| de::Error::missing_field("count"))?,
            sum: sum.ok_or_else(|| de::Error::missing_field("sum"))?,
            min: min.unwrap_or(None),
            max: max.unwrap_or(None),
        })
    }
}

/// Reads the next value into `slot`, refusing a second one.
fn set<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
    slot: &mut Option<T>,
    map: &mut A,
    name: &'static str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

impl MetricValue for HistogramSnapshot {
    const VALUE_TYPE: ValueType = ValueType::Histogram;

    fn metric_value(&self) -> Option<Number> {
        None
    }

    #[inline]
    fn visit_point(&self, labels: &[LabelValue<'_>], visitor: &mut dyn Visitor) {
        if let Some(point) = self.point() {
            visitor.point(labels, PointValue::Histogram(&point));
        }
    }

    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        format.serialize(writer, self)
    }
}
