//! The times a snapshot gives its points: [`PointTimes`], read from the fields a group marks
//! `#[metric(timestamp)]` and `#[metric(start_time)]` through [`TimeField`].

use std::time::{SystemTime, UNIX_EPOCH};

/// When a snapshot was taken and when its counters began counting, as the group itself says
/// ([`MetricsGroup::point_times`](crate::MetricsGroup::point_times)), in Unix nanoseconds.
/// `None` leaves the choice to the exporter: the export's time, and the process start.
///
/// ```
/// use metrics_core::{MetricsGroup, PointTimes};
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
///
/// #[derive(MetricsGroup)]
/// struct Snapshot {
///     #[metric(timestamp, unit = "s")]
///     taken: u64, // seconds since the Unix epoch
///     #[metric(start_time)]
///     since: SystemTime,
///     #[metric(counter)]
///     jobs: u64,
/// }
///
/// let snapshot = Snapshot { taken: 1_700_000_000, since: UNIX_EPOCH + Duration::from_secs(5), jobs: 1 };
/// assert_eq!(
///     snapshot.point_times(),
///     PointTimes { time_unix_nano: Some(1_700_000_000_000_000_000), start_time_unix_nano: Some(5_000_000_000) }
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PointTimes {
    /// The time every point carries.
    pub time_unix_nano: Option<u64>,
    /// The start time of counters' and up-down counters' points.
    pub start_time_unix_nano: Option<u64>,
}

/// A field type that can be a snapshot's time or start time: `SystemTime`, or an integer
/// count of seconds, milliseconds, microseconds or nanoseconds since the Unix epoch (its
/// unit given with `unit = "s"`, `"ms"`, `"us"` or `"ns"`), or an `Option` of either
/// (`None`: the exporter's choice). Written to the JSON with its `Serialize`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a `timestamp` or `start_time` field",
    label = "expected `SystemTime`, an integer since the Unix epoch, or an `Option` of one",
    note = "mark a `SystemTime` field `#[metric(timestamp)]`, or an integer field `#[metric(timestamp, unit = \"s\")]` (or \"ms\", \"us\", \"ns\")"
)]
pub trait TimeField: serde::Serialize {
    /// Whether the value is a bare number, whose unit the attribute must give.
    const NEEDS_UNIT: bool;

    /// The time in Unix nanoseconds, given the nanoseconds in one of the attribute's unit
    /// (1 for a `SystemTime`); saturating at both ends, a time before 1970 counting as 0.
    fn unix_nano(&self, unit_nanos: u64) -> Option<u64>;

    /// Writes the field as a member of its struct's object, as serde_json would (generated
    /// code calls it through this trait, so that a type that cannot be a time is reported
    /// once).
    #[doc(hidden)]
    #[inline]
    fn write_member<W, F>(
        &self,
        writer: &mut W,
        format: &mut F,
        first: bool,
        quoted_key: &str,
        compact: &str,
    ) -> std::io::Result<()>
    where
        W: ?Sized + std::io::Write,
        F: crate::json::JsonFormat,
    {
        crate::SkippedField::write_member(self, writer, format, first, quoted_key, compact)
    }
}

impl TimeField for SystemTime {
    const NEEDS_UNIT: bool = false;

    fn unix_nano(&self, _unit_nanos: u64) -> Option<u64> {
        Some(self.duration_since(UNIX_EPOCH).map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        }))
    }
}

impl<T: TimeField> TimeField for Option<T> {
    const NEEDS_UNIT: bool = T::NEEDS_UNIT;

    fn unix_nano(&self, unit_nanos: u64) -> Option<u64> {
        self.as_ref()?.unix_nano(unit_nanos)
    }
}

macro_rules! integer_time {
    ($($ty:ty),*) => {$(
        impl TimeField for $ty {
            const NEEDS_UNIT: bool = true;

            fn unix_nano(&self, unit_nanos: u64) -> Option<u64> {
                let count = u64::try_from(*self).unwrap_or(0);
                Some(count.saturating_mul(unit_nanos))
            }
        }
    )*};
}

integer_time!(u32, u64, usize, i32, i64, isize);
