//! OTLP encoding of any [`MetricsGroup`]: one `ExportMetricsServiceRequest` per snapshot,
//! as protobuf or as OTLP/JSON, straight from the static schema. Pure code: no I/O, no
//! async, no dependency beyond the crate's own.
//!
//! - Counters are monotonic cumulative Sums, up-down counters non-monotonic cumulative Sums,
//!   both with the context's start time; gauges are Gauges, without one. Every point carries
//!   the context's time. A group's fields marked `#[metric(start_time)]` and
//!   `#[metric(timestamp)]` ([`PointTimes`](crate::PointTimes)) take precedence over both.
//! - A labeled map gives one point per entry, with its key as the label's attribute.
//! - Integers are `as_int` (signed 64-bit): unsigned values above `i64::MAX` are sent as
//!   `i64::MAX`. Floats are `as_double`; NaN and infinities are left out.
//! - A metric without points (an absent group, `None`, an empty map, only NaN) is left out.
//! - With [`Deltas`], counters are delta Sums and histograms delta histograms instead (or
//!   histograms only): each point the change since the previous snapshot, bucket by bucket
//!   for a histogram, starting at its time.
//! - The resource and scope come from the [`OtlpContext`].
//!
//! Names, descriptions, units and label keys are encoded once per group type, at its first
//! encode, and kept for the life of the program. After that, an encode into a reused `Vec`
//! allocates nothing once the `Vec` has grown to the request's size.
//!
//! Points come in the order the group's visit gives them: a `HashMap`'s in its iteration
//! order (OTLP gives order no meaning).
//!
//! ```
//! use metrics_core::otlp::{encode_json, encode_protobuf, OtlpContext};
//! use metrics_core::MetricsGroup;
//! use std::collections::HashMap;
//! use std::time::{Duration, UNIX_EPOCH};
//!
//! #[derive(MetricsGroup)]
//! struct Queue {
//!     /// Jobs waiting.
//!     depth: u32,
//!     /// Jobs done, by worker.
//!     #[metric(counter, label = "worker")]
//!     done: HashMap<String, u64>,
//! }
//!
//! let started = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let mut context = OtlpContext::new([("service.name", "queue")], started);
//! context.set_time(started + Duration::from_secs(10));
//! let queue = Queue { depth: 3, done: HashMap::from([("a".to_owned(), 7)]) };
//!
//! let mut body = Vec::new();
//! encode_protobuf(&queue, &context, &mut body); // for gRPC and HTTP/protobuf
//! body.clear();
//! encode_json(&queue, &context, &mut body); // for HTTP/JSON
//!
//! let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
//! let metrics = &request["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
//! assert_eq!(metrics[0]["name"], "depth");
//! assert_eq!(
//!     metrics[0]["gauge"]["dataPoints"][0],
//!     serde_json::json!({ "timeUnixNano": "1700000010000000000", "asInt": "3" })
//! );
//! assert_eq!(metrics[1]["sum"]["isMonotonic"], true);
//! assert_eq!(metrics[1]["sum"]["aggregationTemporality"], 2); // cumulative
//! assert_eq!(
//!     metrics[1]["sum"]["dataPoints"][0],
//!     serde_json::json!({
//!         "attributes": [{ "key": "worker", "value": { "stringValue": "a" } }],
//!         "startTimeUnixNano": "1700000000000000000",
//!         "timeUnixNano": "1700000010000000000",
//!         "asInt": "7"
//!     })
//! );
//! ```
//!
//! [`MetricsGroup`]: crate::MetricsGroup

mod context;
mod delta;
mod histogram_delta;
mod json;
mod prepared;
mod protobuf;
mod walk;
mod wire;

pub use context::{OtlpContext, SCOPE_NAME, SCOPE_VERSION};
pub use delta::Deltas;

use crate::DynMetricsGroup;

/// Appends `group`'s snapshot to `out` as a protobuf `ExportMetricsServiceRequest`: the body
/// of a gRPC `MetricsService/Export` call or an HTTP/protobuf `POST /v1/metrics`.
///
/// See the [module documentation](self) for what it contains.
pub fn encode_protobuf<G>(group: &G, context: &OtlpContext, out: &mut Vec<u8>)
where
    G: ?Sized + DynMetricsGroup,
{
    let prepared = prepared::prepared(group.schema());
    let times = context.times(group.point_times());
    protobuf::encode(out, context, times, prepared, None, |visitor| {
        group.visit_metrics(visitor)
    });
}

/// Appends `group`'s snapshot to `out` as an OTLP/JSON `ExportMetricsServiceRequest`: the
/// body of an HTTP/JSON `POST /v1/metrics`. The same message as [`encode_protobuf`].
pub fn encode_json<G>(group: &G, context: &OtlpContext, out: &mut Vec<u8>)
where
    G: ?Sized + DynMetricsGroup,
{
    let prepared = prepared::prepared(group.schema());
    let times = context.times(group.point_times());
    json::encode(out, context, times, &prepared.metrics, None, |visitor| {
        group.visit_metrics(visitor)
    });
}
