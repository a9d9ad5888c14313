//! The OTLP exporter: gRPC, HTTP/protobuf and HTTP/JSON, sending what [`crate::otlp`]
//! encodes.
//!
//! An export encodes the snapshot (protobuf or JSON), then sends it with retries (see
//! `retry.rs`) inside the configured timeout. No lock is held across a send: concurrent
//! exports run side by side, each within its own timeout.

#[cfg(feature = "otlp-grpc")]
mod connector;
#[cfg(feature = "otlp-grpc")]
mod grpc;
#[cfg(feature = "otlp-http")]
mod http;
mod process;
mod response;
mod retry;
mod tls;

#[cfg(all(feature = "otlp-http", feature = "otel-sdk"))]
pub(crate) use tls::plain_http_config as plain_http_tls;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::RwLock;

use self::retry::{Failure, Outcome};
use self::tls::Tls;
use super::MetricsExporter;
use crate::config::{MetricsConfig, OtlpConfig, OtlpProtocol, RedactedHeaders};
use crate::otlp::{encode_json, encode_protobuf, OtlpContext};
use crate::schema::GroupSchema;
use crate::{DynMetricsGroup, MetricsError, Number, Visitor};

/// Exports any group over OTLP.
///
/// Each export is one `ExportMetricsServiceRequest` (see [`crate::otlp`]): counters are
/// monotonic cumulative Sums and up-down counters non-monotonic cumulative Sums, both starting
/// at the process start (on Linux; elsewhere when the exporter was created) unless the group
/// has a field marked `#[metric(start_time)]`; gauges are Gauges, without a start time; every
/// point carries the export's time, or the group's field marked `#[metric(timestamp)]`.
/// Map fields export every entry. NaN and infinities are left out and logged as a warning
/// naming the metric; unsigned integers above `i64::MAX` are sent as `i64::MAX`.
pub struct OtlpExporter {
    name: String,
    url: String,
    protocol: OtlpProtocol,
    header_names: Vec<String>,
    timeout: Duration,
    context: OtlpContext,
    transport: Transport,
    redactor: Redactor,
    /// Held for reading by each export, for writing by shutdown, which so waits for the
    /// exports in flight. Exports never wait for each other.
    in_flight: RwLock<()>,
    shut_down: AtomicBool,
    /// Per group type, the metrics whose non-finite values the previous export left out.
    left_out: Mutex<Vec<(&'static GroupSchema, Vec<String>)>>,
}

enum Transport {
    #[cfg(feature = "otlp-grpc")]
    Grpc(Box<grpc::Grpc>),
    #[cfg(feature = "otlp-http")]
    Http(Box<http::Http>),
}

impl fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.header_names.iter().map(String::as_str).collect();
        f.debug_struct("OtlpExporter")
            .field("url", &self.url)
            .field("protocol", &self.protocol)
            .field("headers", &RedactedHeaders(&names))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OtlpExporter {
    /// An exporter for `otlp`, with the resource attributes of `config` (`service.name`,
    /// `service.namespace` if set, and `resource_attributes`). `otlp` is validated first.
    ///
    /// Counters' start time is the process start (see the type's documentation). For an
    /// `https` endpoint the TLS files are read here: a missing or unparsable one fails the
    /// creation, naming it. Needs no Tokio runtime; exports run in one.
    pub fn new(config: &MetricsConfig, otlp: &OtlpConfig) -> Result<Self, MetricsError> {
        otlp.validate()?;
        let url = otlp.export_url();
        let timeout = otlp.timeout();
        let failed = |reason: String| MetricsError::OtlpCreate {
            endpoint: url.clone(),
            protocol: otlp.protocol.as_str(),
            reason,
        };
        // Validation allows TLS files with an `https` endpoint only.
        let tls = match url.starts_with("https://") {
            true => Some(Tls::load(&otlp.tls).map_err(failed)?),
            false => None,
        };
        let transport =
            match otlp.protocol {
                #[cfg(feature = "otlp-grpc")]
                OtlpProtocol::Grpc => Transport::Grpc(Box::new(
                    grpc::Grpc::new(otlp, &url, timeout, tls).map_err(failed)?,
                )),
                #[cfg(feature = "otlp-http")]
                OtlpProtocol::HttpBinary | OtlpProtocol::HttpJson => Transport::Http(Box::new(
                    http::Http::new(otlp, &url, timeout, tls).map_err(failed)?,
                )),
                #[allow(unreachable_patterns)]
                protocol => {
                    return Err(failed(format!(
                    "{protocol} is not compiled in: enable the cargo feature `{}` of metrics-core",
                    if protocol == OtlpProtocol::Grpc { "otlp-grpc" } else { "otlp-http" }
                )))
                }
            };
        let mut resource = vec![("service.name".to_owned(), config.service_name.clone())];
        if let Some(namespace) = &config.service_namespace {
            resource.push(("service.namespace".to_owned(), namespace.clone()));
        }
        resource.extend(config.resource_attributes.clone());
        let mut header_names: Vec<String> = otlp.headers.keys().cloned().collect();
        header_names.sort_unstable();
        Ok(OtlpExporter {
            name: format!("otlp {} {url}", otlp.protocol),
            protocol: otlp.protocol,
            header_names,
            timeout,
            context: OtlpContext::new(resource, process::start().unwrap_or_else(SystemTime::now)),
            transport,
            redactor: Redactor::new(otlp.headers.values()),
            url,
            in_flight: RwLock::new(()),
            shut_down: AtomicBool::new(false),
            left_out: Mutex::new(Vec::new()),
        })
    }

    fn error(&self, message: String) -> MetricsError {
        MetricsError::Otlp {
            endpoint: self.url.clone(),
            protocol: self.protocol.as_str(),
            message,
        }
    }

    /// The request body of `group`'s snapshot taken now.
    fn encode(&self, group: &dyn DynMetricsGroup) -> Vec<u8> {
        let mut context = self.context.clone();
        context.set_time(SystemTime::now());
        let mut body = Vec::new();
        match self.protocol {
            OtlpProtocol::HttpJson => encode_json(group, &context, &mut body),
            _ => encode_protobuf(group, &context, &mut body),
        }
        body
    }

    /// Warns when the set of metrics with non-finite values changes; a gauge that stays NaN
    /// must not flood the log at every tick, so repeats are debug lines.
    fn report_non_finite(&self, group: &dyn DynMetricsGroup) {
        let schema = group.schema();
        let mut finder = NonFinite::default();
        group.visit_metrics(&mut finder);
        let names: Vec<String> = if finder.indexes.is_empty() {
            Vec::new()
        } else {
            schema
                .metrics()
                .enumerate()
                .filter(|(i, _)| finder.indexes.contains(i))
                .map(|(_, m)| m.name)
                .collect()
        };
        let mut left_out = self.left_out.lock().unwrap_or_else(PoisonError::into_inner);
        let index = match left_out.iter().position(|(s, _)| std::ptr::eq(*s, schema)) {
            Some(index) => index,
            None => {
                left_out.push((schema, Vec::new()));
                left_out.len() - 1
            }
        };
        let previous = &mut left_out[index].1;
        if *previous != names {
            if !names.is_empty() {
                tracing::warn!(
                    backend = %self.name,
                    metrics = ?names,
                    "NaN or infinite values left out of the OTLP export: OTLP cannot carry them"
                );
            }
            *previous = names;
        } else if !names.is_empty() {
            tracing::debug!(backend = %self.name, metrics = ?names, "NaN or infinite values left out again");
        }
    }

    /// Sends `encoded` with retries, until the deadline.
    async fn send(&self, encoded: Vec<u8>) -> Result<(), Outcome> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        match &self.transport {
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(grpc) => {
                let body = bytes::Bytes::from(encoded);
                retry::with_retries(deadline, || grpc.send(body.clone(), &self.redactor)).await
            }
            #[cfg(feature = "otlp-http")]
            Transport::Http(http) => {
                let body = http.body(encoded);
                retry::with_retries(deadline, || http.send(body.clone(), &self.redactor)).await
            }
        }
    }
}

#[async_trait]
impl MetricsExporter for OtlpExporter {
    fn name(&self) -> &str {
        &self.name
    }

    async fn export(&self, group: &dyn DynMetricsGroup) -> Result<(), MetricsError> {
        let shut_down = || MetricsError::ShutDown {
            backend: self.name.clone(),
        };
        if self.shut_down.load(Ordering::Acquire) {
            return Err(shut_down());
        }
        let _in_flight = self.in_flight.read().await;
        if self.shut_down.load(Ordering::Acquire) {
            return Err(shut_down());
        }
        self.report_non_finite(group);
        let encoded = self.encode(group);
        match tokio::time::timeout(self.timeout, self.send(encoded)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(Outcome::Failed(message))) => Err(self.error(message)),
            // No point rejected: the collector's message is a warning (OTLP specification).
            Ok(Err(Outcome::Rejected(warning))) if warning.points <= 0 => {
                tracing::warn!(
                    backend = %self.name,
                    message = %self.redactor.redact(&warning.message),
                    "the OTLP collector accepted every point, with a warning"
                );
                Ok(())
            }
            Ok(Err(Outcome::Rejected(rejected))) => Err(MetricsError::OtlpPartialSuccess {
                endpoint: self.url.clone(),
                protocol: self.protocol.as_str(),
                rejected: rejected.points,
                message: self.redactor.redact(&rejected.message),
            }),
            Err(_) => Err(MetricsError::Timeout {
                backend: self.name.clone(),
                timeout: self.timeout,
            }),
        }
    }

    /// Stops exporting; waits for the exports in flight, at most the timeout.
    async fn shutdown(&self) -> Result<(), MetricsError> {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // Each export ends within its own timeout, so this wait ends in time either way.
        let _ = tokio::time::timeout(self.timeout, self.in_flight.write()).await;
        Ok(())
    }
}

/// The schema indexes of the metrics with a NaN or infinite point.
#[derive(Default)]
struct NonFinite {
    cursor: usize,
    indexes: Vec<usize>,
}

impl Visitor for NonFinite {
    fn point(&mut self, _label: Option<&str>, value: Number) {
        if matches!(value, Number::F64(v) if !v.is_finite())
            && self.indexes.last() != Some(&self.cursor)
        {
            self.indexes.push(self.cursor);
        }
    }

    fn advance(&mut self, metrics: usize) {
        self.cursor += metrics;
    }
}

/// Removes the configured header values from text a collector sent back, which may echo
/// them (a 400 body, a gRPC status message), before it reaches an error or a log line.
pub(super) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    fn new<'a>(values: impl Iterator<Item = &'a String>) -> Self {
        // A value and, for a scheme and a credential (`Bearer <token>`), each of its words
        // long enough to be a credential: a collector may echo the token alone.
        let mut secrets: Vec<String> = Vec::new();
        for value in values {
            secrets.push(value.trim().to_owned());
            let words: Vec<&str> = value.split_whitespace().collect();
            if words.len() > 1 {
                secrets.extend(
                    words
                        .iter()
                        .filter(|w| w.len() >= 8)
                        .map(|w| (*w).to_owned()),
                );
            }
        }
        secrets.retain(|s| !s.is_empty());
        // Longest first, so a value containing another is removed whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    /// `text` with every configured value replaced by `<redacted>`.
    pub(super) fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), "<redacted>");
            }
        }
        text
    }
}

/// A failure to reach the collector (`connecting`) or to exchange with it: TLS's, which says
/// so (see [`Tls::failure`]), or a transient one named by its innermost cause.
fn transport_failure(
    error: &(dyn std::error::Error + 'static),
    tls: Option<&Tls>,
    connecting: bool,
) -> Failure {
    if let Some(failure) = tls.and_then(|tls| tls.failure(error)) {
        return failure;
    }
    let cause = cause(error);
    Failure::Transient {
        message: if connecting {
            format!("could not connect: {cause}")
        } else {
            cause
        },
        after: None,
    }
}

/// The innermost cause of `error`, which names what went wrong without the layers of
/// wrapping around it (each of which repeats it).
pub(super) fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = error;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}

#[cfg(test)]
mod tests {
    use super::Redactor;

    #[test]
    fn redacts_values_and_the_credential_of_a_scheme() {
        let values = ["sk-1234567890".to_owned(), "Bearer tok-abcdefgh".to_owned()];
        let redactor = Redactor::new(values.iter());
        assert_eq!(
            redactor.redact("key sk-1234567890, auth Bearer tok-abcdefgh, token tok-abcdefgh"),
            "key <redacted>, auth <redacted>, token <redacted>"
        );
        assert_eq!(redactor.redact("nothing secret"), "nothing secret");
    }
}
