//! [`MetricsError`]: what went wrong, and where (which field, file, endpoint or backend).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

/// Errors of configuration, export and shutdown.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// A configuration value is invalid. Header values are never included.
    #[error("invalid metrics configuration: `{field}` = {value}: {reason}")]
    Config {
        /// The field's path, e.g. `otlp.timeout_seconds` or `OTEL_EXPORTER_OTLP_TIMEOUT`.
        field: String,
        /// The offending value, quoted (or `<redacted>` for secrets).
        value: String,
        /// What would be accepted.
        reason: String,
    },

    /// A configuration document does not parse: bad JSON, a wrong type, an unknown field or
    /// value. Header values are never included.
    #[error("invalid metrics configuration: `{field}`: {reason}")]
    ConfigParse {
        /// The field's path, e.g. `otlp.protocol`, or `(document)` for the whole document.
        field: String,
        /// The parser's message.
        reason: String,
    },

    /// A configuration file could not be read or parsed.
    #[error("reading metrics configuration {path}: {reason}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// The parser's or the file system's message, naming the field where known.
        reason: String,
    },

    /// The configuration asks for an exporter this build does not include.
    #[error("OTLP protocol `{protocol}` is not compiled in: enable the cargo feature `{feature}` of metrics-core")]
    FeatureDisabled {
        /// The protocol asked for.
        protocol: &'static str,
        /// The cargo feature that provides it.
        feature: &'static str,
    },

    /// Writing the metrics file failed; the previous file is intact.
    #[error("writing metrics file {}: {operation} failed: {source}", path.display())]
    File {
        /// The file being replaced.
        path: PathBuf,
        /// The step that failed (create directory, write temporary file, rename, ...).
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// Encoding the snapshot as JSON failed (a skipped field's `Serialize` impl failed).
    #[error("encoding metrics as JSON: {0}")]
    Json(#[from] serde_json::Error),

    /// An OTLP export or shutdown failed.
    #[error("OTLP export to {endpoint} ({protocol}) failed: {message}")]
    Otlp {
        /// The endpoint the export was sent to.
        endpoint: String,
        /// `grpc`, `http/protobuf` or `http/json`.
        protocol: &'static str,
        /// What failed, named once: connection refused, DNS, an HTTP status with the
        /// collector's message, a gRPC status, a redirect. Configured header values are
        /// redacted from anything the collector sent back.
        message: String,
    },

    /// The collector accepted the export but rejected some of its points (OTLP
    /// `partial_success`).
    #[error("OTLP export to {endpoint} ({protocol}): the collector rejected {rejected} data points: {message}")]
    OtlpPartialSuccess {
        /// The endpoint the export was sent to.
        endpoint: String,
        /// `grpc`, `http/protobuf` or `http/json`.
        protocol: &'static str,
        /// `rejected_data_points`.
        rejected: i64,
        /// The collector's `error_message`, header values redacted.
        message: String,
    },

    /// An OTLP export failed for a retryable reason and was written to the spool: a later
    /// export sends it, with its original timestamps.
    #[error("OTLP export to {endpoint} ({protocol}) was spooled for a later export: {message}{}", Dropped(*dropped))]
    OtlpSpooled {
        /// The endpoint the export was sent to.
        endpoint: String,
        /// `grpc`, `http/protobuf` or `http/json`.
        protocol: &'static str,
        /// Why it was not sent now: the failure, or the older spooled exports ahead of it.
        message: String,
        /// The oldest spooled exports dropped to keep the spool within its limits.
        dropped: u64,
    },

    /// An OTLP export failed for a retryable reason and could not be spooled either (a full
    /// disk, say): it is lost. The exporter goes on.
    #[error("OTLP export to {endpoint} ({protocol}) failed ({message}) and could not be spooled in {}: {operation} failed: {source}", dir.display())]
    OtlpSpool {
        /// The endpoint the export was sent to.
        endpoint: String,
        /// `grpc`, `http/protobuf` or `http/json`.
        protocol: &'static str,
        /// Why it was not sent.
        message: String,
        /// The spool directory.
        dir: PathBuf,
        /// The step that failed (write, fsync, rename, ...).
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// An OTLP exporter could not be created (nothing was exported).
    #[error("creating the OTLP exporter for {endpoint} ({protocol}) failed: {reason}")]
    OtlpCreate {
        /// The configured endpoint.
        endpoint: String,
        /// `grpc`, `http/protobuf` or `http/json`.
        protocol: &'static str,
        /// Why.
        reason: String,
    },

    /// A backend did not finish in time.
    #[error("metrics backend {backend} did not finish within {timeout:?}")]
    Timeout {
        /// The backend's name.
        backend: String,
        /// The time it was given.
        timeout: Duration,
    },

    /// The exporter was shut down and no longer exports.
    #[error("metrics backend {backend} is shut down")]
    ShutDown {
        /// The backend's name.
        backend: String,
    },

    /// Something the reporter runs panicked (its snapshot source, or the exporter or an export
    /// observer); the reporter stopped reporting.
    #[error("the metrics reporter for {backend} stopped: {culprit} panicked: {message}")]
    Panicked {
        /// The exporter's name.
        backend: String,
        /// What panicked: `the snapshot source`, or `the exporter or an export observer`.
        culprit: &'static str,
        /// The panic's message.
        message: String,
    },

    /// The snapshot could not be rendered for Prometheus: two metrics share a Prometheus name.
    #[error(transparent)]
    Prometheus(#[from] crate::prometheus::PrometheusError),

    /// Some backends of a composite exporter failed; the others succeeded.
    #[error("{} of {total} metrics backends failed: {}", failures.len(), Failures(failures))]
    Backends {
        /// Each failed backend's name and error.
        failures: Vec<(String, MetricsError)>,
        /// How many backends there are.
        total: usize,
    },
}

/// Formats backend failures as `name: error; name: error`.
struct Failures<'a>(&'a [(String, MetricsError)]);

impl fmt::Display for Failures<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (backend, error)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{backend}: {error}")?;
        }
        Ok(())
    }
}

/// `; dropped N oldest spooled exports`, or nothing.
struct Dropped(u64);

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0 => Ok(()),
            n => write!(
                f,
                "; {n} oldest spooled exports dropped over the spool's limits"
            ),
        }
    }
}

impl MetricsError {
    /// A configuration error for `field` with the given value and reason.
    pub(crate) fn config(
        field: impl Into<String>,
        value: impl fmt::Debug,
        reason: impl Into<String>,
    ) -> Self {
        MetricsError::Config {
            field: field.into(),
            value: format!("{value:?}"),
            reason: reason.into(),
        }
    }
}
