//! [`Family`]: live labeled series for hot paths, created on first use.
//!
//! # Design
//!
//! A key's series is found in a [`papaya`] hash map (key to index), whose reads take no lock
//! and write nothing shared but an epoch marker of the reading thread: threads incrementing
//! the same or different series do not contend on a lock word, as they do with an
//! `RwLock<HashMap>` (prometheus-client's family) or the shards of a sharded map. The
//! series themselves live in an append-only array of segments (`Slots`)
//! that never moves an element, so [`Family::get_or_create`] returns a plain `&V` that lives
//! as long as the family, and exporters read the series in creation order without the map.
//!
//! Keys are hashed with [`foldhash`]'s per-process seeded hasher rather than the standard
//! SipHash: it halves the cost of an update on a three-attribute key (BENCHMARKS.md), and
//! its resistance to crafted collisions is minimal but, for label values a service chooses
//! (and a cap against unbounded ones), enough.
//!
//! Creating a series (the first use of a key) takes a mutex, so that one key gets one
//! series and the cap is exact; nothing else does. Series are never removed: a family
//! holds cumulative values, as OTLP's cumulative temporality and Prometheus expect.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

mod counter;
mod field;
mod slots;

pub use counter::Counter;

use slots::Slots;

/// The attribute key of a capped family's overflow series (value `true`), OpenTelemetry's
/// name for the point that aggregates what exceeded a cardinality limit.
pub const OVERFLOW_ATTRIBUTE: &str = "otel.metric.overflow";

/// A live, concurrent map from label sets to series: one metric field whose points are its
/// series, each with every attribute of its key.
///
/// A series is any [`MetricValue`](crate::MetricValue) updated through `&self`: a
/// [`Counter`], a std atomic, a [`Histogram`](crate::Histogram) or an
/// [`ExponentialHistogram`](crate::ExponentialHistogram) (made by
/// [`new_with`](Family::new_with) for bounds other than the default).
///
/// `family.get_or_create(&key)` returns the key's series, creating it on the first use of
/// the key; after that, finding and updating it takes no lock and allocates nothing. Keep
/// the family in a struct deriving [`MetricsGroup`](crate::MetricsGroup) and report it with
/// `ReporterBuilder::start_live` (feature `export`), or snapshot it
/// with the rest of the struct: each export reads the series as they are.
///
/// ```
/// use metrics_core::{Counter, Family, LabelSet, LabelValue, MetricsGroup};
///
/// #[derive(LabelValue, Clone, PartialEq, Eq, Hash, serde::Serialize)]
/// enum Outcome { Ok, Failed }
///
/// #[derive(LabelSet, Clone, PartialEq, Eq, Hash, serde::Serialize)]
/// struct Task { queue: &'static str, outcome: Outcome }
///
/// #[derive(MetricsGroup, serde::Serialize)]
/// struct Live {
///     /// Tasks finished, by queue and outcome.
///     #[metric(counter)]
///     tasks: Family<Task, Counter>,
/// }
///
/// let live = Live { tasks: Family::with_max_series(100) };
/// let key = Task { queue: "high", outcome: Outcome::Ok };
/// live.tasks.get_or_create(&key).inc();
/// live.tasks.get_or_create(&key).inc();
/// assert_eq!(live.tasks.get(&key).map(Counter::get), Some(2));
/// assert_eq!(
///     metrics_core::json::to_string(&live).unwrap(),
///     r#"{"tasks":{"series":[[{"queue":"high","outcome":"Ok"},2]],"overflow":0,"overflowed":0}}"#
/// );
/// ```
///
/// # A cap on the number of series
///
/// [`Family::with_max_series`] (or [`max_series`](Family::max_series)) bounds the series a
/// family creates, against keys of unbounded cardinality (user ids, raw paths). Beyond the
/// cap, `get_or_create` for a new key returns the family's one overflow series, exported
/// with the single attribute [`OVERFLOW_ATTRIBUTE`]` = true` in place of the keys
/// (OpenTelemetry's convention): totals stay exact, and a query by attribute shows what it
/// misses. [`overflowed`](Family::overflowed) counts the calls that were answered with it.
/// The overflow point is exported once a call has been.
///
/// # JSON
///
/// `{"series":[[key,value],...],"overflow":value,"overflowed":count}`: the series in
/// creation order as `[key, value]` pairs, each key as its own `Serialize` writes it (as in a
/// [`LabelMap`](crate::LabelMap)), then the overflow series and the count of calls it
/// answered. [`crate::json`] writes the same bytes as serde_json; it reads back with
/// `Deserialize` (without a cap).
pub struct Family<K, V> {
    /// Each key's index in `series`.
    index: papaya::HashMap<K, usize, foldhash::quality::RandomState>,
    /// The series with their keys, in creation order.
    series: Slots<(K, V)>,
    /// Held to create a series: one per key, and never more than `max_series`.
    creating: Mutex<()>,
    max_series: usize,
    overflow: V,
    overflowed: AtomicU64,
    make: Box<dyn Fn() -> V + Send + Sync>,
}

impl<K, V: Default + 'static> Family<K, V> {
    /// An empty family without a cap; series start at `V::default()`.
    pub fn new() -> Self {
        Family::new_with(V::default)
    }

    /// An empty family of at most `max_series` series (then the overflow series).
    pub fn with_max_series(max_series: usize) -> Self {
        Family::new().max_series(max_series)
    }
}

impl<K, V: Default + 'static> Default for Family<K, V> {
    fn default() -> Self {
        Family::new()
    }
}

impl<K, V: 'static> Family<K, V> {
    /// An empty family without a cap whose series start as `make` returns them, for values
    /// without a `Default` (a histogram with its bounds, say).
    pub fn new_with(make: impl Fn() -> V + Send + Sync + 'static) -> Self {
        Family {
            index: papaya::HashMap::with_hasher(foldhash::quality::RandomState::default()),
            series: Slots::new(),
            creating: Mutex::new(()),
            max_series: usize::MAX,
            overflow: make(),
            overflowed: AtomicU64::new(0),
            make: Box::new(make),
        }
    }
}

impl<K, V> Family<K, V> {
    /// Caps the family at `max_series` series: a new key beyond them gets the overflow
    /// series. 0 sends every key there.
    pub fn max_series(mut self, max_series: usize) -> Self {
        self.max_series = max_series;
        self
    }

    /// The cap, if there is one.
    pub fn series_cap(&self) -> Option<usize> {
        (self.max_series != usize::MAX).then_some(self.max_series)
    }

    /// How many series the family has (the overflow series not counted).
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether the family has no series yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The series with their keys, in creation order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.series.iter().map(|(key, value)| (key, value))
    }

    /// The overflow series: what keys beyond the cap updated.
    pub fn overflow(&self) -> &V {
        &self.overflow
    }

    /// How many calls of [`get_or_create`](Family::get_or_create) were answered with the
    /// overflow series, because the family had reached its cap.
    pub fn overflowed(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }

    fn overflow_series(&self) -> &V {
        self.overflowed.fetch_add(1, Ordering::Relaxed);
        &self.overflow
    }
}

impl<K: Hash + Eq, V> Family<K, V> {
    /// The series of `key`, created on first use (beyond the cap: the overflow series).
    ///
    /// `key` may be a borrowed form of the key type (`&str` for `String`), so that an
    /// existing series is found without building a key. Finding one takes no lock and
    /// allocates nothing; creating one clones the key (`to_owned`) and takes the family's
    /// creation lock.
    #[inline]
    pub fn get_or_create<Q>(&self, key: &Q) -> &V
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
    {
        match self.get(key) {
            Some(value) => value,
            None => self.create(key),
        }
    }

    /// The series of `key`, if it exists; never creates one.
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq,
    {
        let index = *self.index.pin().get(key)?;
        self.series.get(index).map(|(_, value)| value)
    }

    #[cold]
    #[inline(never)]
    fn create<Q>(&self, key: &Q) -> &V
    where
        K: Borrow<Q>,
        Q: ?Sized + Hash + Eq + ToOwned<Owned = K>,
    {
        // A full family answers without the lock: overflowing keys do not contend.
        if self.series.len() >= self.max_series {
            return self.overflow_series();
        }
        // A panic of `make` or `to_owned` leaves nothing half done: the lock guards no data.
        let _creating = self.creating.lock().unwrap_or_else(PoisonError::into_inner);
        let index = self.index.pin();
        if let Some(value) = index.get(key).and_then(|&i| self.series.get(i)) {
            return &value.1;
        }
        if self.series.len() >= self.max_series {
            return self.overflow_series();
        }
        match self.series.push((key.to_owned(), (self.make)())) {
            Ok(i) => {
                // Indexed once the series is in place: a reader finding the index finds it.
                index.insert(key.to_owned(), i);
                match self.series.get(i) {
                    Some((_, value)) => value,
                    None => self.overflow_series(),
                }
            }
            // More series than a `u32` counts: the overflow series takes the rest.
            Err(_) => self.overflow_series(),
        }
    }
}

impl<K: Hash + Eq + Clone, V> Family<K, V> {
    /// Adds a series read back from JSON, unless its key has one already.
    fn insert_new(&mut self, key: K, value: V) {
        let index = self.index.pin();
        if index.contains_key(&key) {
            return;
        }
        if let Ok(i) = self.series.push((key.clone(), value)) {
            index.insert(key, i);
        }
    }
}

impl<K, V> fmt::Debug for Family<K, V> {
    /// The counts only: keys and values may be anything, including what must not be logged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Family")
            .field("series", &self.len())
            .field("max_series", &self.series_cap())
            .field("overflowed", &self.overflowed())
            .finish_non_exhaustive()
    }
}
