//! A [`Family`] as a metric field (one point per series, then the overflow point) and its
//! serde representation, which both JSON writers follow.

use std::fmt;
use std::hash::Hash;
use std::io;
use std::marker::PhantomData;

use serde::de::{MapAccess, SeqAccess, Visitor as DeVisitor};
use serde::ser::{SerializeSeq, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Family;
use crate::field::{Field, MapKeys, Shape};
use crate::json::JsonFormat;
use crate::labels::LabelSet;
use crate::labels::LabelValue;
use crate::{MetricValue, PointValue, Visitor};

impl<K, V> Field for Family<K, V>
where
    K: LabelSet + Serialize,
    V: MetricValue + Serialize,
{
    const SHAPE: Shape = Shape::Map(V::VALUE_TYPE, MapKeys::of::<K>());

    fn visit(&self, visitor: &mut dyn Visitor) {
        for (key, value) in self.iter() {
            value.visit_point(key.label_values().as_ref(), visitor);
        }
        if self.overflowed() > 0 {
            self.overflow.visit_point(&[], &mut Overflow(visitor));
        }
        visitor.advance(1);
    }

    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        format.serialize(writer, self)
    }
}

/// Hands the points a value visits to `overflow_point`: whatever the value (a number, a
/// histogram), its point becomes the overflow point.
struct Overflow<'a>(&'a mut dyn Visitor);

impl Visitor for Overflow<'_> {
    fn point(&mut self, _labels: &[LabelValue<'_>], value: PointValue<'_>) {
        self.0.overflow_point(value);
    }

    fn advance(&mut self, metrics: usize) {
        self.0.advance(metrics);
    }
}

const FIELDS: &[&str] = &["series", "overflow", "overflowed"];

/// `{"series":[[key,value],...],"overflow":value,"overflowed":count}`.
impl<K: Serialize, V: Serialize> Serialize for Family<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut family = serializer.serialize_struct("Family", FIELDS.len())?;
        family.serialize_field("series", &Series(self))?;
        family.serialize_field("overflow", &self.overflow)?;
        family.serialize_field("overflowed", &self.overflowed())?;
        family.end()
    }
}

/// The series as a list of `[key, value]` pairs, as a [`LabelMap`](crate::LabelMap) writes.
struct Series<'a, K, V>(&'a Family<K, V>);

impl<K: Serialize, V: Serialize> Serialize for Series<'_, K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (key, value) in self.0.iter() {
            seq.serialize_element(&(key, value))?;
        }
        seq.end()
    }
}

/// Reads what [`Serialize`] writes into a family without a cap (the cap is configuration,
/// not data); a repeated key keeps its first series.
impl<'de, K, V> Deserialize<'de> for Family<K, V>
where
    K: Deserialize<'de> + Hash + Eq + Clone,
    V: Deserialize<'de> + Default + 'static,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("Family", FIELDS, FamilyVisitor(PhantomData))
    }
}

struct FamilyVisitor<K, V>(PhantomData<(K, V)>);

impl<'de, K, V> DeVisitor<'de> for FamilyVisitor<K, V>
where
    K: Deserialize<'de> + Hash + Eq + Clone,
    V: Deserialize<'de> + Default + 'static,
{
    type Value = Family<K, V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a family: {\"series\": [[key, value], ...], \"overflow\": value, \"overflowed\": count}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut series: Option<Vec<(K, V)>> = None;
        let mut overflow: Option<V> = None;
        let mut overflowed: Option<u64> = None;
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                "series" => series = Some(once(series.is_none(), "series", &mut map)?),
                "overflow" => overflow = Some(once(overflow.is_none(), "overflow", &mut map)?),
                "overflowed" => {
                    overflowed = Some(once(overflowed.is_none(), "overflowed", &mut map)?)
                }
                other => return Err(serde::de::Error::unknown_field(other, FIELDS)),
            }
        }
        let series = series.ok_or_else(|| serde::de::Error::missing_field("series"))?;
        let overflow = overflow.ok_or_else(|| serde::de::Error::missing_field("overflow"))?;
        let overflowed = overflowed.ok_or_else(|| serde::de::Error::missing_field("overflowed"))?;
        Ok(assemble(series, overflow, overflowed))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let missing = |i| serde::de::Error::invalid_length(i, &self);
        let series: Vec<(K, V)> = seq.next_element()?.ok_or_else(|| missing(0))?;
        let overflow: V = seq.next_element()?.ok_or_else(|| missing(1))?;
        let overflowed: u64 = seq.next_element()?.ok_or_else(|| missing(2))?;
        Ok(assemble(series, overflow, overflowed))
    }
}

fn assemble<K: Hash + Eq + Clone, V: Default + 'static>(
    series: Vec<(K, V)>,
    overflow: V,
    overflowed: u64,
) -> Family<K, V> {
    let mut family = Family::new();
    family.overflow = overflow;
    *family.overflowed.get_mut() = overflowed;
    for (key, value) in series {
        family.insert_new(key, value);
    }
    family
}

/// The next value of `map`, for a field seen for the first time (`first`).
fn once<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    first: bool,
    name: &'static str,
    map: &mut A,
) -> Result<T, A::Error> {
    if first {
        map.next_value()
    } else {
        Err(serde::de::Error::duplicate_field(name))
    }
}
