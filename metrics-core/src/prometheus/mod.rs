//! Prometheus exposition of any [`MetricsGroup`]: the text format 0.0.4 and OpenMetrics 1.0
//! text, straight from the static schema. Pure code: no async, no dependency beyond the
//! crate's own.
//!
//! - Names follow OpenTelemetry's Prometheus compatibility rules: the dotted name with
//!   invalid characters as `_`, the UCUM unit as a suffix (`s` → `_seconds`, `By` →
//!   `_bytes`, `1` on a gauge → `_ratio`, `{...}` annotations dropped), `_total` on a
//!   counter's samples. The README has the whole table.
//! - Counters are `counter`; gauges and up-down counters are `gauge`.
//! - `# HELP` comes from the description (left out when there is none), escaped; label
//!   values are escaped. OpenMetrics adds `# UNIT` and ends with `# EOF`.
//! - Integers are written in all their digits; floats in their shortest round-trip form;
//!   `NaN`, `+Inf` and `-Inf` as Prometheus spells them. No timestamps: the scrape gives them.
//! - A metric without points (an absent group, `None`, an empty map) is left out.
//! - Two metrics whose names are the same once mapped (`a.b` and `a_b`) cannot both be
//!   exposed: a group holding such a pair does not compile (the derive checks every group's
//!   names with the rules the encoder uses), so no encode meets one.
//!
//! Names and metadata lines are rendered once per group type, at its first encode, and kept
//! for the life of the program. After that, an encode into a reused `Vec` allocates nothing
//! once the `Vec` has grown to the exposition's size.
//!
//! ```
//! use metrics_core::prometheus::{self, Format};
//! use metrics_core::MetricsGroup;
//! use std::collections::HashMap;
//! use std::time::Duration;
//!
//! #[derive(MetricsGroup)]
//! struct Queue {
//!     /// Jobs waiting.
//!     depth: u32,
//!     /// Jobs done, by worker.
//!     #[metric(counter, label = "worker")]
//!     done: HashMap<String, u64>,
//!     /// Time of the last job.
//!     #[metric(unit = "s")]
//!     last_job: Duration,
//! }
//!
//! let queue = Queue {
//!     depth: 3,
//!     done: HashMap::from([("a".to_owned(), 7)]),
//!     last_job: Duration::from_millis(1500),
//! };
//! let mut text = Vec::new();
//! prometheus::to_writer(&queue, &mut text).unwrap();
//! let expected = concat!(
//!     "# HELP depth Jobs waiting.\n",
//!     "# TYPE depth gauge\n",
//!     "depth 3\n",
//!     "# HELP done_total Jobs done, by worker.\n",
//!     "# TYPE done_total counter\n",
//!     "done_total{worker=\"a\"} 7\n",
//!     "# HELP last_job_seconds Time of the last job.\n",
//!     "# TYPE last_job_seconds gauge\n",
//!     "last_job_seconds 1.5\n",
//! );
//! assert_eq!(String::from_utf8(text).unwrap(), expected);
//!
//! let mut open_metrics = Vec::new();
//! prometheus::to_writer_with(&queue, Format::OpenMetrics, &mut open_metrics).unwrap();
//! let open_metrics = String::from_utf8(open_metrics).unwrap();
//! assert!(open_metrics.contains("# TYPE done counter\n"));
//! assert!(open_metrics.contains("# UNIT last_job_seconds seconds\n"));
//! assert!(open_metrics.ends_with("# EOF\n"));
//! ```
//!
//! [`MetricsGroup`]: crate::MetricsGroup

pub(crate) mod collisions;
mod encode;
mod names;
mod prepared;

use std::{fmt, io};

use crate::DynMetricsGroup;

/// An exposition format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Format {
    /// Prometheus' text format 0.0.4, which every Prometheus reads.
    #[default]
    Text,
    /// OpenMetrics 1.0 text: `# UNIT` lines and `# EOF`.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a response in this format.
    pub const fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    const fn index(self) -> usize {
        match self {
            Format::Text => 0,
            Format::OpenMetrics => 1,
        }
    }
}

/// Why an exposition could not be written.
#[derive(Debug)]
#[non_exhaustive]
pub enum PrometheusError {
    /// The writer failed; what was written before is incomplete.
    Io(io::Error),
}

impl fmt::Display for PrometheusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrometheusError::Io(error) => {
                write!(f, "writing the Prometheus exposition: {error}")
            }
        }
    }
}

impl std::error::Error for PrometheusError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PrometheusError::Io(error) => Some(error),
        }
    }
}

/// Writes `group`'s snapshot to `writer` in the text format 0.0.4.
///
/// See the [module documentation](self) for what it contains.
pub fn to_writer<G, W>(group: &G, writer: &mut W) -> Result<(), PrometheusError>
where
    G: ?Sized + DynMetricsGroup,
    W: ?Sized + io::Write,
{
    to_writer_with(group, Format::Text, writer)
}

/// Writes `group`'s snapshot to `writer` in `format`.
pub fn to_writer_with<G, W>(
    group: &G,
    format: Format,
    writer: &mut W,
) -> Result<(), PrometheusError>
where
    G: ?Sized + DynMetricsGroup,
    W: ?Sized + io::Write,
{
    let families = prepared::prepared(group.schema());
    encode::encode(
        families,
        format,
        |visitor| group.visit_metrics(visitor),
        writer,
    )
    .map_err(PrometheusError::Io)
}
