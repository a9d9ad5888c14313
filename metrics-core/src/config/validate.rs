//! Checks of every configuration value, naming the field at fault (never a header value).

use super::url::{check_url, is_https, UrlProblem};
use super::{
    FileFormat, MetricsConfig, OtlpConfig, PrometheusConfig, SpoolConfig, MAX_EXPORT_INTERVAL,
};
use crate::MetricsError;

impl MetricsConfig {
    /// Checks every value; the error names the field and the value (never a header value).
    pub fn validate(&self) -> Result<(), MetricsError> {
        if self.export_interval_seconds == 0 {
            return Err(MetricsError::config(
                "export_interval_seconds",
                self.export_interval_seconds,
                "must be at least 1",
            ));
        }
        if self.export_interval_seconds > MAX_EXPORT_INTERVAL {
            // A longer interval is almost surely a unit mistake (milliseconds for seconds).
            return Err(MetricsError::config(
                "export_interval_seconds",
                self.export_interval_seconds,
                format!("must be at most {MAX_EXPORT_INTERVAL} (one day)"),
            ));
        }
        if self.service_name.trim().is_empty() {
            return Err(MetricsError::config(
                "service_name",
                &self.service_name,
                "must not be empty",
            ));
        }
        if let Some(namespace) = &self.service_namespace {
            if namespace.trim().is_empty() {
                return Err(MetricsError::config(
                    "service_namespace",
                    namespace,
                    "must not be empty: leave it out to send no namespace",
                ));
            }
        }
        if let Some(file) = &self.file {
            if file.path.as_os_str().is_empty() {
                return Err(MetricsError::config(
                    "file.path",
                    &file.path,
                    "must not be empty",
                ));
            }
            if file.path.file_name().is_none() {
                return Err(MetricsError::config(
                    "file.path",
                    &file.path,
                    "must name a file, not a directory such as `/` or `..`",
                ));
            }
            check_timeout("file.timeout_seconds", file.timeout_seconds)?;
            if file.format == FileFormat::OtlpJson && file.max_bytes < MIN_FILE_BYTES {
                return Err(MetricsError::config(
                    "file.max_bytes",
                    file.max_bytes,
                    format!("must be at least {MIN_FILE_BYTES} (room for an export)"),
                ));
            }
        }
        if let Some(otlp) = &self.otlp {
            otlp.validate()?;
        }
        if let Some(prometheus) = &self.prometheus {
            prometheus.listen_address()?;
        }
        Ok(())
    }
}

impl OtlpConfig {
    /// Checks the endpoint, timeout and headers; every way to build an OTLP exporter calls it.
    pub(crate) fn validate(&self) -> Result<(), MetricsError> {
        check_url(&self.endpoint).map_err(|problem| match problem {
            // The value holds a password: never repeat it.
            UrlProblem::Credentials => MetricsError::Config {
                field: "otlp.endpoint".to_owned(),
                value: "<redacted>".to_owned(),
                reason: "credentials in the URL would show in exporter names, errors and logs: put them in `headers`".to_owned(),
            },
            UrlProblem::Other(reason) => MetricsError::config("otlp.endpoint", &self.endpoint, reason),
        })?;
        check_timeout("otlp.timeout_seconds", self.timeout_seconds)?;
        self.check_tls()?;
        for (name, value) in &self.headers {
            let field = format!("otlp.headers.{name}");
            if name.is_empty() || !name.bytes().all(is_header_name_byte) {
                return Err(MetricsError::config(
                    field,
                    name,
                    "header names use letters, digits and `!#$%&'*+-.^_`|~` only",
                ));
            }
            if is_reserved_header(name) {
                return Err(MetricsError::config(
                    field,
                    name,
                    "the exporter sets this header itself (or the transport owns it): it cannot be configured",
                ));
            }
            if !value
                .bytes()
                .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
            {
                return Err(MetricsError::Config {
                    field,
                    value: "<redacted>".to_owned(),
                    reason: "header values use visible ASCII characters, spaces and tabs only"
                        .to_owned(),
                });
            }
        }
        if let Some(spool) = &self.spool {
            spool.validate()?;
        }
        Ok(())
    }
}

impl SpoolConfig {
    /// A directory, room for an export, and an age of at least a second.
    fn validate(&self) -> Result<(), MetricsError> {
        if self.dir.as_os_str().is_empty() {
            return Err(MetricsError::config(
                "otlp.spool.dir",
                &self.dir,
                "must not be empty",
            ));
        }
        if self.max_bytes < MIN_SPOOL_BYTES {
            return Err(MetricsError::config(
                "otlp.spool.max_bytes",
                self.max_bytes,
                format!("must be at least {MIN_SPOOL_BYTES} (room for one small export)"),
            ));
        }
        if self.max_age_seconds == 0 {
            return Err(MetricsError::config(
                "otlp.spool.max_age_seconds",
                self.max_age_seconds,
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// The smallest spool: a few exports of a small group.
const MIN_SPOOL_BYTES: u64 = 4096;

/// The smallest OTLP/JSON file before rotation: a few exports of a small group.
const MIN_FILE_BYTES: u64 = 4096;

impl OtlpConfig {
    /// TLS options go with an `https` endpoint, and a client certificate with its key: a
    /// mismatch is a mistake the exporter would otherwise silently ignore (plain text sent
    /// where TLS was meant) or report at the first handshake.
    fn check_tls(&self) -> Result<(), MetricsError> {
        let tls = &self.tls;
        let https = is_https(&self.endpoint);
        if tls.insecure && https {
            return Err(MetricsError::config(
                "otlp.tls.insecure",
                true,
                "an `https` endpoint cannot be insecure: use `http://` for plain text, or leave `insecure` out",
            ));
        }
        let files = [
            ("otlp.tls.certificate", &tls.certificate),
            ("otlp.tls.client_certificate", &tls.client_certificate),
            ("otlp.tls.client_key", &tls.client_key),
        ];
        for (field, path) in files {
            let Some(path) = path else { continue };
            if !https {
                return Err(MetricsError::config(
                    field,
                    path,
                    format!(
                        "TLS files need an `https://` endpoint, and `otlp.endpoint` is {:?}",
                        self.endpoint
                    ),
                ));
            }
            if path.as_os_str().is_empty() {
                return Err(MetricsError::config(field, path, "must not be empty"));
            }
        }
        match (&tls.client_certificate, &tls.client_key) {
            (Some(_), None) => Err(MetricsError::config(
                "otlp.tls.client_key",
                &tls.client_key,
                "a client certificate needs its private key (`client_key`, OTEL_EXPORTER_OTLP_CLIENT_KEY)",
            )),
            (None, Some(_)) => Err(MetricsError::config(
                "otlp.tls.client_certificate",
                &tls.client_certificate,
                "a client key needs its certificate (`client_certificate`, OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE)",
            )),
            _ => Ok(()),
        }
    }
}

/// A timeout is a number of seconds from a millisecond (shorter, nothing could be sent:
/// every export would time out) to an hour.
fn check_timeout(field: &str, seconds: f64) -> Result<(), MetricsError> {
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(MetricsError::config(
            field,
            seconds,
            "must be a positive number of seconds",
        ));
    }
    if seconds < 0.001 {
        return Err(MetricsError::config(
            field,
            seconds,
            "must be at least 0.001 seconds (1 ms)",
        ));
    }
    if seconds > 3600.0 {
        return Err(MetricsError::config(
            field,
            seconds,
            "must be at most 3600 seconds",
        ));
    }
    Ok(())
}

/// Headers the transport sets or that would corrupt the request: `content-length` would
/// truncate the body, `host` and `connection` redirect or break the connection, `grpc-*` and
/// pseudo-headers (`:path`) belong to the gRPC and HTTP/2 framing.
fn is_reserved_header(name: &str) -> bool {
    const RESERVED: [&str; 7] = [
        "content-length",
        "transfer-encoding",
        "content-encoding",
        "content-type",
        "host",
        "te",
        "connection",
    ];
    let name = name.to_ascii_lowercase();
    RESERVED.contains(&name.as_str()) || name.starts_with("grpc-") || name.starts_with(':')
}

/// An RFC 7230 token character, the bytes of a valid header name.
fn is_header_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

impl PrometheusConfig {
    /// `listen` as a socket address; the error says what would be accepted.
    pub(crate) fn listen_address(&self) -> Result<std::net::SocketAddr, MetricsError> {
        self.listen.trim().parse().map_err(|_| {
            MetricsError::config(
                "prometheus.listen",
                &self.listen,
                "must be an IP address and a port, such as `127.0.0.1:9464` or `[::]:9464`",
            )
        })
    }
}
