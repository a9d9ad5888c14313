//! JSON output of any [`MetricsGroup`], byte-identical to serde_json's for the same struct.
//!
//! The functions mirror serde_json's. The document is what `#[derive(serde::Serialize)]` would
//! produce (skipped metrics included). A `HashMap` is written in its iteration order, as
//! serde_json writes it, which changes from one map to the next: use a `BTreeMap` for
//! output sorted by key (deterministic files, diffable snapshots).
//!
//! The derived writer calls serde_json's own [`Formatter`](serde_json::ser::Formatter) with
//! object keys quoted and escaped at compile time, so it builds no intermediate value and
//! allocates nothing but the output.
//!
//! ```
//! use metrics_core::MetricsGroup;
//!
//! #[derive(MetricsGroup, serde::Serialize)]
//! struct Queue {
//!     /// Jobs waiting.
//!     depth: u32,
//!     /// Seconds since start.
//!     #[metric(counter, unit = "s")]
//!     uptime: f64,
//! }
//!
//! let queue = Queue { depth: 3, uptime: 1.5 };
//! let text = metrics_core::json::to_string(&queue).unwrap();
//! assert_eq!(text, r#"{"depth":3,"uptime":1.5}"#);
//! assert_eq!(text, serde_json::to_string(&queue).unwrap());
//! ```

use std::io;

use crate::MetricsGroup;

mod format;

pub(crate) use format::needs_escape;

pub use format::{Compact, JsonFormat, Pretty};

/// Writes `value` as compact JSON into `writer`.
pub fn to_writer<W, T>(mut writer: W, value: &T) -> serde_json::Result<()>
where
    W: io::Write,
    T: ?Sized + MetricsGroup,
{
    value
        .write_json(&mut writer, &mut Compact)
        .map_err(serde_json::Error::io)
}

/// Writes `value` as pretty-printed JSON (two-space indent) into `writer`.
pub fn to_writer_pretty<W, T>(mut writer: W, value: &T) -> serde_json::Result<()>
where
    W: io::Write,
    T: ?Sized + MetricsGroup,
{
    value
        .write_json(&mut writer, &mut Pretty::default())
        .map_err(serde_json::Error::io)
}

/// Returns `value` as compact JSON bytes.
pub fn to_vec<T>(value: &T) -> serde_json::Result<Vec<u8>>
where
    T: ?Sized + MetricsGroup,
{
    let mut out = Vec::with_capacity(128);
    to_writer(&mut out, value)?;
    Ok(out)
}

/// Returns `value` as pretty-printed JSON bytes.
pub fn to_vec_pretty<T>(value: &T) -> serde_json::Result<Vec<u8>>
where
    T: ?Sized + MetricsGroup,
{
    let mut out = Vec::with_capacity(128);
    to_writer_pretty(&mut out, value)?;
    Ok(out)
}

/// Returns `value` as a compact JSON string.
pub fn to_string<T>(value: &T) -> serde_json::Result<String>
where
    T: ?Sized + MetricsGroup,
{
    to_vec(value).map(utf8)
}

/// Returns `value` as a pretty-printed JSON string.
pub fn to_string_pretty<T>(value: &T) -> serde_json::Result<String>
where
    T: ?Sized + MetricsGroup,
{
    to_vec_pretty(value).map(utf8)
}

fn utf8(bytes: Vec<u8>) -> String {
    // Every byte written comes from a `&str` or from serde_json's formatter, both UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
