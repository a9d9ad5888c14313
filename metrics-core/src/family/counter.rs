//! [`Counter`]: a monotonic count updated from many threads.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::json::JsonFormat;
use crate::schema::ValueType;
use crate::{MetricValue, Number};

/// A count that only goes up: an `AtomicU64` with `inc` and `add` (`Relaxed`: a count
/// orders nothing else), for a live struct or a [`Family`](crate::Family)'s series.
///
/// Its JSON is the number, as serde writes a `u64`; it reads back from one.
///
/// ```
/// use metrics_core::{Counter, MetricsGroup};
///
/// #[derive(MetricsGroup, serde::Serialize)]
/// struct Live {
///     /// Requests served.
///     #[metric(counter)]
///     requests: Counter,
/// }
///
/// let live = Live { requests: Counter::new() };
/// live.requests.inc();
/// live.requests.add(2);
/// assert_eq!(metrics_core::json::to_string(&live).unwrap(), r#"{"requests":3}"#);
/// ```
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// A counter at 0.
    pub const fn new() -> Self {
        Counter(AtomicU64::new(0))
    }

    /// Adds 1.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n`, wrapping at `u64::MAX` as the atomic does.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The count.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl From<u64> for Counter {
    fn from(value: u64) -> Self {
        Counter(AtomicU64::new(value))
    }
}

impl MetricValue for Counter {
    const VALUE_TYPE: ValueType = ValueType::U64;

    #[inline]
    fn metric_value(&self) -> Option<Number> {
        Some(Number::U64(self.get()))
    }

    #[inline]
    fn write_json<W, F>(&self, writer: &mut W, format: &mut F) -> io::Result<()>
    where
        W: ?Sized + io::Write,
        F: JsonFormat,
    {
        self.get().write_json(writer, format)
    }
}

impl Serialize for Counter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.get())
    }
}

impl<'de> Deserialize<'de> for Counter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u64::deserialize(deserializer).map(Counter::from)
    }
}
