//! [`OtlpContext`]: what a request carries besides the group's points.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{json, wire};
use crate::PointTimes;

/// The instrumentation scope of every request: this crate, with its version.
pub const SCOPE_NAME: &str = env!("CARGO_PKG_NAME");
/// The version in the scope and in `telemetry.sdk.version`.
pub const SCOPE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The resource attributes the encoder adds, unless the caller gives them: which SDK wrote
/// the data, as the semantic conventions ask of any SDK.
const SDK_ATTRIBUTES: [(&str, &str); 3] = [
    ("telemetry.sdk.name", SCOPE_NAME),
    ("telemetry.sdk.language", "rust"),
    ("telemetry.sdk.version", SCOPE_VERSION),
];

/// The resource, scope and times of the requests [`encode_protobuf`](super::encode_protobuf)
/// and [`encode_json`](super::encode_json) write.
///
/// Build it once and keep it: the resource and scope are encoded at construction, and an
/// export only sets the points' time ([`set_time`](Self::set_time)).
///
/// - **Resource**: the caller's attributes (`service.name` and the like) as strings, then
///   `telemetry.sdk.name` (`metrics-core`), `telemetry.sdk.language` (`rust`) and
///   `telemetry.sdk.version` (this crate's version) unless the caller gave them. A key given
///   twice keeps its last value, at its first place.
/// - **Scope**: [`SCOPE_NAME`] with [`SCOPE_VERSION`].
/// - **Start time**: when counting began, carried by counters' and up-down counters' points
///   (OTLP cumulative Sums); gauges carry none. A group's field marked
///   `#[metric(start_time)]` takes precedence.
/// - **Time**: the snapshot's time, carried by every point. A group's field marked
///   `#[metric(timestamp)]` takes precedence.
///
/// Times are Unix nanoseconds; a `SystemTime` before 1970 counts as 0, one after 2554 as
/// `u64::MAX` nanoseconds.
#[derive(Clone)]
pub struct OtlpContext {
    attributes: Vec<(String, String)>,
    pub(super) start_time_unix_nano: u64,
    pub(super) time_unix_nano: u64,
    /// `ResourceMetrics.resource` as a whole protobuf field, key and length included.
    pub(super) resource_protobuf: Vec<u8>,
    /// `ScopeMetrics.scope` as a whole protobuf field.
    pub(super) scope_protobuf: Vec<u8>,
    /// `"resource":{...}` as a JSON member.
    pub(super) resource_json: Vec<u8>,
    /// `"scope":{...}` as a JSON member.
    pub(super) scope_json: Vec<u8>,
}

impl OtlpContext {
    /// A context with these resource attributes, counting since `start_time`. The points'
    /// time is `start_time` until [`set_time`](Self::set_time) is called.
    ///
    /// ```
    /// use metrics_core::otlp::OtlpContext;
    /// use std::time::SystemTime;
    ///
    /// let context = OtlpContext::new([("service.name", "scheduler")], SystemTime::now());
    /// let keys: Vec<&str> = context.resource().iter().map(|(k, _)| k.as_str()).collect();
    /// assert_eq!(
    ///     keys,
    ///     ["service.name", "telemetry.sdk.name", "telemetry.sdk.language", "telemetry.sdk.version"]
    /// );
    /// ```
    pub fn new<K, V>(attributes: impl IntoIterator<Item = (K, V)>, start_time: SystemTime) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut merged: Vec<(String, String)> = Vec::new();
        for (key, value) in attributes {
            let (key, value) = (key.into(), value.into());
            match merged.iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 = value,
                None => merged.push((key, value)),
            }
        }
        for (key, value) in SDK_ATTRIBUTES {
            if !merged.iter().any(|(k, _)| k == key) {
                merged.push((key.to_owned(), value.to_owned()));
            }
        }
        let start = unix_nanos(start_time);
        let mut context = OtlpContext {
            attributes: Vec::new(),
            start_time_unix_nano: start,
            time_unix_nano: start,
            resource_protobuf: resource_protobuf(&merged),
            scope_protobuf: scope_protobuf(),
            resource_json: resource_json(&merged),
            scope_json: scope_json(),
        };
        context.attributes = merged;
        context
    }

    /// The resource attributes, in the order they are encoded.
    pub fn resource(&self) -> &[(String, String)] {
        &self.attributes
    }

    /// Sets the time every point carries: when the snapshot was taken.
    pub fn set_time(&mut self, time: SystemTime) {
        self.time_unix_nano = unix_nanos(time);
    }

    /// [`set_time`](Self::set_time) in Unix nanoseconds.
    pub fn set_time_unix_nano(&mut self, time: u64) {
        self.time_unix_nano = time;
    }

    /// Sets the start time counters' and up-down counters' points carry.
    pub fn set_start_time(&mut self, start_time: SystemTime) {
        self.start_time_unix_nano = unix_nanos(start_time);
    }

    /// [`set_start_time`](Self::set_start_time) in Unix nanoseconds.
    pub fn set_start_time_unix_nano(&mut self, start_time: u64) {
        self.start_time_unix_nano = start_time;
    }

    /// The points' time, in Unix nanoseconds.
    pub fn time_unix_nano(&self) -> u64 {
        self.time_unix_nano
    }

    /// The Sums' start time, in Unix nanoseconds.
    pub fn start_time_unix_nano(&self) -> u64 {
        self.start_time_unix_nano
    }

    /// The start time and time of a group's points: the group's own where it gives them
    /// (its marked fields), else this context's.
    pub(super) fn times(&self, group: PointTimes) -> RequestTimes {
        RequestTimes {
            start_time_unix_nano: group
                .start_time_unix_nano
                .unwrap_or(self.start_time_unix_nano),
            time_unix_nano: group.time_unix_nano.unwrap_or(self.time_unix_nano),
        }
    }
}

/// The times one request's points carry, in Unix nanoseconds.
#[derive(Clone, Copy)]
pub(super) struct RequestTimes {
    pub(super) start_time_unix_nano: u64,
    pub(super) time_unix_nano: u64,
}

impl fmt::Debug for OtlpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpContext")
            .field("resource", &self.attributes)
            .field("scope", &(SCOPE_NAME, SCOPE_VERSION))
            .field("start_time_unix_nano", &self.start_time_unix_nano)
            .field("time_unix_nano", &self.time_unix_nano)
            .finish()
    }
}

/// `time` in nanoseconds since the Unix epoch, saturating at both ends.
fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    })
}

/// `ResourceMetrics.resource` (field 1): `Resource { attributes (1): KeyValue* }`.
fn resource_protobuf(attributes: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    let resource = wire::begin(&mut out, 1, 2);
    for (key, value) in attributes {
        let attribute = wire::begin(&mut out, 1, 1);
        key_value_body(&mut out, key, value);
        wire::end(&mut out, attribute);
    }
    wire::end(&mut out, resource);
    out
}

/// `ScopeMetrics.scope` (field 1): `InstrumentationScope { name (1), version (2) }`.
fn scope_protobuf() -> Vec<u8> {
    let mut out = Vec::new();
    let scope = wire::begin(&mut out, 1, 1);
    wire::bytes_field(&mut out, 1, SCOPE_NAME.as_bytes());
    wire::bytes_field(&mut out, 2, SCOPE_VERSION.as_bytes());
    wire::end(&mut out, scope);
    out
}

/// The body of a `KeyValue { key (1), value (2): AnyValue { string_value (1) } }`.
pub(super) fn key_value_body(out: &mut Vec<u8>, key: &str, value: &str) {
    wire::bytes_field(out, 1, key.as_bytes());
    let any = wire::begin(out, 2, 1);
    wire::bytes_field(out, 1, value.as_bytes());
    wire::end(out, any);
}

fn resource_json(attributes: &[(String, String)]) -> Vec<u8> {
    let mut out = b"\"resource\":{\"attributes\":[".to_vec();
    for (i, (key, value)) in attributes.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json::key_value(&mut out, key, value);
    }
    out.extend_from_slice(b"]}");
    out
}

fn scope_json() -> Vec<u8> {
    let mut out = b"\"scope\":{\"name\":".to_vec();
    json::string(&mut out, SCOPE_NAME);
    out.extend_from_slice(b",\"version\":");
    json::string(&mut out, SCOPE_VERSION);
    out.push(b'}');
    out
}
