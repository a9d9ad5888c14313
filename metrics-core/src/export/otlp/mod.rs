//! The OTLP exporter: gRPC, HTTP/protobuf and HTTP/JSON, sending what [`crate::otlp`]
//! encodes.
//!
//! An export encodes the snapshot (protobuf or JSON), then sends it with retries (see
//! `retry.rs`) inside the configured timeout. No lock is held across a send: concurrent
//! exports run side by side, each within its own timeout. With a spool (`spool/`), an export
//! first resends what earlier ones spooled, and one that fails for a retryable reason is
//! spooled; the transports know nothing of it.

#[cfg(feature = "otlp-grpc")]
mod connector;
#[cfg(feature = "otlp-grpc")]
mod grpc;
#[cfg(feature = "otlp-http")]
mod http;

mod response;
mod retry;
mod spool;
mod tls;

#[cfg(all(feature = "otlp-http", feature = "otel-sdk"))]
pub(crate) use tls::plain_http_config as plain_http_tls;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::RwLock;

use self::response::Rejected;
use self::retry::{Failure, Outcome};
use self::spool::{Listed, Resending, Spool};
pub use self::spool::{OtlpEncoding, SpoolStatus};
use self::tls::Tls;
use super::MetricsExporter;
use crate::config::{MetricsConfig, OtlpConfig, OtlpProtocol, RedactedHeaders, Temporality};
use crate::otlp::{encode_json, encode_protobuf, Deltas, OtlpContext};
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
    spool: Option<Arc<Spool>>,
    /// With delta temporality, an empty state of the configured kinds and, per group type,
    /// the last delivered (or spooled) snapshot's counters and histograms.
    deltas: Option<(Deltas, Mutex<Vec<Deltas>>)>,
    /// Whether entries of the other encoding were already reported (once is enough).
    reported_foreign: AtomicBool,
}

/// The most spooled entries one export resends before its own snapshot: enough to catch up
/// after an outage (each export sends up to this many while adding one), few enough that
/// the Reporter's tick is not stalled. The export's timeout bounds the whole as well.
pub const MAX_RESEND_ENTRIES: usize = 16;

/// The most bytes of spooled entries one export resends (the first entry is always sent).
pub const MAX_RESEND_BYTES: u64 = 8 << 20;

/// Whether older spooled exports wait to be sent before a new one.
enum Backlog {
    Clear,
    Ahead(String),
}

/// A request body ready for the transport (gzipped for HTTP if configured).
enum Body {
    #[cfg(feature = "otlp-grpc")]
    Grpc(bytes::Bytes),
    #[cfg(feature = "otlp-http")]
    Http(Vec<u8>),
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
        let mut header_names: Vec<String> = otlp.headers.keys().cloned().collect();
        header_names.sort_unstable();
        let spool = match &otlp.spool {
            Some(spool) => Some(Arc::new(Spool::open(spool).map_err(|(operation, e)| {
                failed(format!(
                    "spool {}: {operation} failed: {e}",
                    spool.dir.display()
                ))
            })?)),
            None => None,
        };
        Ok(OtlpExporter {
            name: format!("otlp {} {url}", otlp.protocol),
            protocol: otlp.protocol,
            header_names,
            timeout,
            context: OtlpContext::new(config.resource(), super::process::start_or_now()),
            transport,
            redactor: Redactor::new(otlp.headers.values()),
            url,
            in_flight: RwLock::new(()),
            shut_down: AtomicBool::new(false),
            left_out: Mutex::new(Vec::new()),
            spool,
            deltas: deltas_for(otlp.temporality).map(|empty| (empty, Mutex::new(Vec::new()))),
            reported_foreign: AtomicBool::new(false),
        })
    }

    /// What the spool holds and has done, if one is configured.
    pub fn spool_status(&self) -> Option<SpoolStatus> {
        self.spool.as_ref().map(|spool| spool.status())
    }

    /// Resends spooled exports as an export does before its snapshot (at most
    /// [`MAX_RESEND_ENTRIES`], within the timeout); returns the status after. For a final
    /// flush, or a replay of a spool directory. `Ok` with entries left: call again; an error
    /// if there is no spool or the collector is still unreachable.
    pub async fn resend_spooled(&self) -> Result<SpoolStatus, MetricsError> {
        let Some(spool) = &self.spool else {
            return Err(self.error("no spool is configured".to_owned()));
        };
        let deadline = tokio::time::Instant::now() + self.timeout;
        match tokio::time::timeout_at(deadline, self.resend(spool)).await {
            Ok(Backlog::Clear) => Ok(spool.status()),
            Ok(Backlog::Ahead(message)) if !message.starts_with(STILL_SPOOLED) => {
                Err(self.error(message))
            }
            Ok(Backlog::Ahead(_)) => Ok(spool.status()),
            Err(_) => Err(MetricsError::Timeout {
                backend: self.name.clone(),
                timeout: self.timeout,
            }),
        }
    }

    /// Sends one request already encoded (a line of an OTLP/JSON file, say) as is, with
    /// retries within the timeout. Its encoding must be the one this exporter's protocol
    /// sends.
    pub async fn send_encoded(
        &self,
        encoding: OtlpEncoding,
        body: Vec<u8>,
    ) -> Result<(), MetricsError> {
        if encoding != self.encoding() {
            return Err(self.error(format!(
                "a request in {} cannot be sent over {}",
                encoding.content_type(),
                self.protocol
            )));
        }
        let sent = tokio::time::timeout(self.timeout, self.send(body)).await;
        self.answer(sent).map_err(|(error, _)| error)
    }

    /// The encoding this exporter's protocol sends.
    fn encoding(&self) -> OtlpEncoding {
        match self.protocol {
            OtlpProtocol::HttpJson => OtlpEncoding::Json,
            _ => OtlpEncoding::Protobuf,
        }
    }

    fn error(&self, message: String) -> MetricsError {
        MetricsError::Otlp {
            endpoint: self.url.clone(),
            protocol: self.protocol.as_str(),
            message,
        }
    }

    /// The request body of `group`'s snapshot taken now; with delta temporality, also the
    /// deltas' state to keep once the request is delivered (or spooled).
    fn encode(&self, group: &dyn DynMetricsGroup) -> (Vec<u8>, Option<Deltas>) {
        let mut context = self.context.clone();
        context.set_time(SystemTime::now());
        let mut body = Vec::new();
        let Some((empty, deltas)) = &self.deltas else {
            match self.encoding() {
                OtlpEncoding::Json => encode_json(group, &context, &mut body),
                OtlpEncoding::Protobuf => encode_protobuf(group, &context, &mut body),
            }
            return (body, None);
        };
        // Held while encoding only: exports are not serialized by it.
        let mut next = {
            let deltas = deltas.lock().unwrap_or_else(PoisonError::into_inner);
            deltas
                .iter()
                .find(|d| d.is_for(group.schema()))
                .unwrap_or(empty)
                .clone()
        };
        match self.encoding() {
            OtlpEncoding::Json => next.encode_json(group, &context, &mut body),
            OtlpEncoding::Protobuf => next.encode_protobuf(group, &context, &mut body),
        }
        (body, Some(next))
    }

    /// Keeps `next` as the state of its group type: the next deltas start from it.
    fn keep_deltas(&self, next: Deltas) {
        let Some((_, deltas)) = &self.deltas else {
            return;
        };
        let mut deltas = deltas.lock().unwrap_or_else(PoisonError::into_inner);
        match deltas.iter_mut().find(|d| d.same_group(&next)) {
            Some(kept) => *kept = next,
            None => deltas.push(next),
        }
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

    /// The transport's body for `encoded`.
    fn body(&self, encoded: Vec<u8>) -> Body {
        match &self.transport {
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(_) => Body::Grpc(bytes::Bytes::from(encoded)),
            #[cfg(feature = "otlp-http")]
            Transport::Http(http) => Body::Http(http.body(encoded)),
        }
    }

    /// One try.
    async fn try_once(&self, body: &Body) -> Result<Result<(), Rejected>, Failure> {
        match (&self.transport, body) {
            #[cfg(feature = "otlp-grpc")]
            (Transport::Grpc(grpc), Body::Grpc(body)) => {
                grpc.send(body.clone(), &self.redactor).await
            }
            #[cfg(feature = "otlp-http")]
            (Transport::Http(http), Body::Http(body)) => {
                http.send(body.clone(), &self.redactor).await
            }
            #[allow(unreachable_patterns)]
            _ => Err(Failure::Permanent(
                "a body for another transport".to_owned(),
            )),
        }
    }

    /// Sends `encoded` with retries, until the deadline.
    async fn send(&self, encoded: Vec<u8>) -> Result<(), Outcome> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let body = self.body(encoded);
        retry::with_retries(deadline, || self.try_once(&body)).await
    }

    /// The export's result from the send's; with the error, whether the failure was
    /// retryable (an unreachable collector, a timeout, 429, 502-504, gRPC UNAVAILABLE...).
    fn answer(
        &self,
        sent: Result<Result<(), Outcome>, tokio::time::error::Elapsed>,
    ) -> Result<(), (MetricsError, bool)> {
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(Outcome::Failed { message, retryable })) => {
                Err((self.error(message), retryable))
            }
            // No point rejected: the collector's message is a warning (OTLP specification).
            Ok(Err(Outcome::Rejected(warning))) if warning.points <= 0 => {
                tracing::warn!(
                    backend = %self.name,
                    message = %self.redactor.redact(&warning.message),
                    "the OTLP collector accepted every point, with a warning"
                );
                Ok(())
            }
            Ok(Err(Outcome::Rejected(rejected))) => Err((
                MetricsError::OtlpPartialSuccess {
                    endpoint: self.url.clone(),
                    protocol: self.protocol.as_str(),
                    rejected: rejected.points,
                    message: self.redactor.redact(&rejected.message),
                },
                false,
            )),
            Err(_) => Err((
                MetricsError::Timeout {
                    backend: self.name.clone(),
                    timeout: self.timeout,
                },
                true,
            )),
        }
    }

    /// Resends spooled entries, oldest first, within [`MAX_RESEND_ENTRIES`] and
    /// [`MAX_RESEND_BYTES`]. An entry is removed once the collector has it (a partial
    /// success included), dropped if the collector refuses it for good; a retryable failure
    /// stops the round. Entries of the other encoding (written with another protocol) are
    /// left for a replay with that protocol, and are no backlog.
    async fn resend(&self, spool: &Spool) -> Backlog {
        let resending = match spool.try_lock() {
            Ok(Some(resending)) => resending,
            // Someone else is resending: this export goes its own way.
            Ok(None) => return Backlog::Clear,
            Err((operation, e)) => {
                return Backlog::Ahead(format!(
                    "spool {}: {operation} failed: {e}",
                    spool.dir().display()
                ))
            }
        };
        let own: Vec<Listed> = resending.pending();
        let (mut sent, mut bytes) = (0usize, 0u64);
        for (index, listed) in own.iter().enumerate() {
            if sent >= MAX_RESEND_ENTRIES || (sent > 0 && bytes + listed.size > MAX_RESEND_BYTES) {
                return Backlog::Ahead(format!(
                    "{STILL_SPOOLED} ({} at most, {} older spooled exports remain)",
                    MAX_RESEND_ENTRIES,
                    own.len() - index
                ));
            }
            let Some((encoding, body)) = resending.read(listed) else {
                continue;
            };
            if encoding != self.encoding() {
                self.report_foreign(spool, encoding);
                continue;
            }
            bytes += listed.size;
            sent += 1;
            if let Err(message) = self.resend_one(&resending, listed, body).await {
                return Backlog::Ahead(message);
            }
        }
        Backlog::Clear
    }

    /// Sends one spooled entry (one try: the spool is the retry); `Err` stops the round.
    async fn resend_one(
        &self,
        resending: &Resending<'_>,
        listed: &Listed,
        body: Vec<u8>,
    ) -> Result<(), String> {
        match self.try_once(&self.body(body)).await {
            Ok(Ok(())) => {}
            Ok(Err(rejected)) => tracing::warn!(
                backend = %self.name,
                rejected = rejected.points,
                message = %self.redactor.redact(&rejected.message),
                "the OTLP collector rejected points of a resent spooled export"
            ),
            Err(Failure::Permanent(message)) => {
                resending.drop_entry(listed, &format!("the collector refused it: {message}"));
                return Ok(());
            }
            Err(Failure::Transient { message, .. }) => {
                return Err(format!(
                    "resending the oldest spooled export failed: {message}"
                ))
            }
        }
        resending.sent(listed).map_err(|e| {
            tracing::error!(path = %listed.path.display(), error = %e, "a resent OTLP export could not be removed from the spool: it would be sent again");
            format!("removing a resent spooled export failed: {e}")
        })
    }

    fn report_foreign(&self, spool: &Spool, encoding: OtlpEncoding) {
        if !self.reported_foreign.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                backend = %self.name,
                dir = %spool.dir().display(),
                encoding = encoding.content_type(),
                "spooled OTLP exports in another encoding are left in the spool: replay them with a protocol that sends it"
            );
        }
    }

    /// Writes `encoded` to the spool, off the async threads. The error counts the entries
    /// dropped since `dropped_before` (during this export's resending and writing).
    async fn spool(
        &self,
        spool: &Arc<Spool>,
        encoded: Vec<u8>,
        message: String,
        dropped_before: u64,
    ) -> MetricsError {
        let encoding = self.encoding();
        let writer = Arc::clone(spool);
        let written = tokio::task::spawn_blocking(move || writer.write(encoding, &encoded))
            .await
            .unwrap_or_else(|e| {
                Err((
                    "run the blocking write",
                    std::io::Error::other(e.to_string()),
                ))
            });
        match written {
            Ok(()) => MetricsError::OtlpSpooled {
                endpoint: self.url.clone(),
                protocol: self.protocol.as_str(),
                message,
                dropped: spool.dropped().saturating_sub(dropped_before),
            },
            Err((operation, source)) => {
                tracing::error!(
                    backend = %self.name,
                    dir = %spool.dir().display(),
                    operation,
                    error = %source,
                    "an OTLP export that failed could not be spooled: it is lost"
                );
                MetricsError::OtlpSpool {
                    endpoint: self.url.clone(),
                    protocol: self.protocol.as_str(),
                    message,
                    dir: spool.dir().to_owned(),
                    operation,
                    source,
                }
            }
        }
    }
}

/// How a round of resending that stopped at its bounds begins its message.
const STILL_SPOOLED: &str = "older spooled exports are sent first";

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
        let (encoded, deltas) = self.encode(group);
        let result = self.deliver(encoded).await;
        if let Some(deltas) = deltas {
            // Delivered, or kept to be: the next deltas start here. Otherwise the next
            // export's deltas cover this interval too.
            if matches!(
                result,
                Ok(())
                    | Err(MetricsError::OtlpSpooled { .. })
                    | Err(MetricsError::OtlpPartialSuccess { .. })
            ) {
                self.keep_deltas(deltas);
            }
        }
        result
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

impl OtlpExporter {
    /// Sends an encoded export (after the spool's older ones), or spools it.
    async fn deliver(&self, encoded: Vec<u8>) -> Result<(), MetricsError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let Some(spool) = &self.spool else {
            let sent = tokio::time::timeout_at(deadline, self.send(encoded)).await;
            return self.answer(sent).map_err(|(error, _)| error);
        };
        let dropped_before = spool.dropped();
        // Oldest first: while older exports wait, this one joins them.
        let backlog = tokio::time::timeout_at(deadline, self.resend(spool))
            .await
            .unwrap_or_else(|_| {
                Backlog::Ahead("resending older spooled exports took the whole timeout".to_owned())
            });
        if let Backlog::Ahead(message) = backlog {
            return Err(self.spool(spool, encoded, message, dropped_before).await);
        }
        let sent = tokio::time::timeout_at(deadline, self.send(encoded.clone())).await;
        match self.answer(sent) {
            Ok(()) => Ok(()),
            Err((error, true)) => Err(self
                .spool(spool, encoded, error.to_string(), dropped_before)
                .await),
            Err((error, false)) => Err(error),
        }
    }
}

/// The schema indexes of the metrics with a NaN or infinite point.
#[derive(Default)]
struct NonFinite {
    cursor: usize,
    indexes: Vec<usize>,
}

impl Visitor for NonFinite {
    fn point(&mut self, _labels: &[crate::LabelValue<'_>], value: crate::PointValue<'_>) {
        if matches!(value, crate::PointValue::Number(Number::F64(v)) if !v.is_finite())
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
/// The empty delta state `temporality` asks for, per instrument kind; `None`: all cumulative.
fn deltas_for(temporality: Temporality) -> Option<Deltas> {
    match (
        temporality.counters_are_delta(),
        temporality.histograms_are_delta(),
    ) {
        (true, _) => Some(Deltas::default()),
        (false, true) => Some(Deltas::histograms_only()),
        (false, false) => None,
    }
}

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
