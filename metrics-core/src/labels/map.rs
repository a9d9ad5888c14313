//! [`LabelMap`]: a map whose keys serde_json cannot write as JSON object keys.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};

use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A map from a tuple or a [`LabelSet`](macro@crate::LabelSet) struct (or any label set) to
/// metric values, as a metric field: one point per entry, with every attribute of its key.
///
/// Its JSON, from serde_json and from [`crate::json`] alike, is a list of `[key, value]`
/// pairs in key order, each key as its own `Serialize` writes it (a tuple as an array, a
/// struct as an object): serde_json cannot write such keys as object keys. It reads back
/// with `Deserialize`. Backed by a `BTreeMap`, so the output is sorted and deterministic.
///
/// ```
/// use metrics_core::{LabelMap, MetricsGroup};
///
/// #[derive(MetricsGroup, serde::Serialize)]
/// struct Gateway {
///     /// Requests by route and method.
///     #[metric(counter, label = ("route", "method"))]
///     requests: LabelMap<(String, &'static str), u64>,
/// }
///
/// let mut requests = LabelMap::new();
/// requests.insert(("/users".to_owned(), "GET"), 7);
/// let gateway = Gateway { requests };
/// let text = metrics_core::json::to_string(&gateway).unwrap();
/// assert_eq!(text, r#"{"requests":[[["/users","GET"],7]]}"#);
/// assert_eq!(text, serde_json::to_string(&gateway).unwrap());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LabelMap<K, V>(BTreeMap<K, V>);

impl<K, V> LabelMap<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        LabelMap(BTreeMap::new())
    }

    /// The map inside.
    pub fn into_inner(self) -> BTreeMap<K, V> {
        self.0
    }
}

impl<K, V> Default for LabelMap<K, V> {
    fn default() -> Self {
        LabelMap::new()
    }
}

impl<K, V> Deref for LabelMap<K, V> {
    type Target = BTreeMap<K, V>;

    fn deref(&self) -> &BTreeMap<K, V> {
        &self.0
    }
}

impl<K, V> DerefMut for LabelMap<K, V> {
    fn deref_mut(&mut self) -> &mut BTreeMap<K, V> {
        &mut self.0
    }
}

impl<K, V> From<BTreeMap<K, V>> for LabelMap<K, V> {
    fn from(map: BTreeMap<K, V>) -> Self {
        LabelMap(map)
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for LabelMap<K, V> {
    fn from(entries: [(K, V); N]) -> Self {
        LabelMap(BTreeMap::from(entries))
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for LabelMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        LabelMap(iter.into_iter().collect())
    }
}

impl<K, V> IntoIterator for LabelMap<K, V> {
    type Item = (K, V);
    type IntoIter = std::collections::btree_map::IntoIter<K, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a LabelMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::collections::btree_map::Iter<'a, K, V>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A list of `[key, value]` pairs.
impl<K: Serialize, V: Serialize> Serialize for LabelMap<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for entry in &self.0 {
            seq.serialize_element(&entry)?;
        }
        seq.end()
    }
}

/// Reads the list of pairs [`Serialize`] writes; a repeated key keeps its last value.
impl<'de, K, V> Deserialize<'de> for LabelMap<K, V>
where
    K: Deserialize<'de> + Ord,
    V: Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pairs = Vec::<(K, V)>::deserialize(deserializer)?;
        Ok(pairs.into_iter().collect())
    }
}
