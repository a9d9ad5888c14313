//! [`MetricsConfig`]: which exporters to build, from a file, defaults and the standard
//! `OTEL_*` environment variables.
//!
//! The defaults are neutral: no exporter (a service names the ones it wants), `service.name`
//! as the OpenTelemetry specification defines it for an unnamed service, no
//! `service.namespace`. Unknown fields are rejected (a typo must not silently disable an
//! exporter). [`MetricsConfig::validate`] checks every value and names the field at fault.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::MetricsError;

mod env;
mod url;
mod validate;

/// Top-level metrics configuration. [`Default`] is the configuration of an empty document,
/// `{}`.
///
/// ```
/// use metrics_core::config::{MetricsConfig, OtlpProtocol};
///
/// let config: MetricsConfig = serde_json::from_str(r#"{
///     "export_interval_seconds": 15,
///     "otlp": { "endpoint": "http://127.0.0.1:4318", "protocol": "http/json",
///               "headers": { "x-api-key": "secret" } }
/// }"#).unwrap();
/// assert_eq!(config.otlp.as_ref().unwrap().protocol, OtlpProtocol::HttpJson);
/// assert!(config.validate().is_ok());
/// assert!(!format!("{config:?}").contains("secret"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Export at all. A disabled configuration builds an exporter with no backends.
    #[serde(default = "default_enabled")]
    pub enabled: bool,

    /// Export interval in seconds.
    #[serde(default = "default_export_interval")]
    pub export_interval_seconds: u64,

    /// `service.name` reported to backends; by default `unknown_service:` followed by the
    /// executable's name, as the OpenTelemetry specification asks of an unnamed service.
    #[serde(default = "default_service_name")]
    pub service_name: String,

    /// `service.namespace` reported to backends; `None` sends no such attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_namespace: Option<String>,

    /// Further resource attributes (also from `OTEL_RESOURCE_ATTRIBUTES`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_attributes: BTreeMap<String, String>,

    /// The OTLP exporter, if any.
    #[serde(default)]
    pub otlp: Option<OtlpConfig>,

    /// The JSON file exporter, if any.
    #[serde(default)]
    pub file: Option<FileMetricsConfig>,

    /// The Prometheus scrape endpoint, if any (cargo feature `prometheus`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusConfig>,
}

/// The Prometheus scrape endpoint: `GET /metrics` serves the latest exported snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusConfig {
    /// The address to listen on, an IP address and a port: `127.0.0.1:9464`, `[::]:9464`.
    pub listen: String,
}

/// OTLP transport protocol. Reads both the short names (`grpc`, `httpbinary`, `httpjson`)
/// and OpenTelemetry's (`grpc`, `http/protobuf`, `http/json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OtlpProtocol {
    /// gRPC (default port 4317).
    #[default]
    #[serde(rename = "grpc")]
    Grpc,
    /// HTTP with protobuf encoding (default port 4318).
    #[serde(rename = "http/protobuf", alias = "httpbinary")]
    HttpBinary,
    /// HTTP with JSON encoding (default port 4318).
    #[serde(rename = "http/json", alias = "httpjson")]
    HttpJson,
}

impl OtlpProtocol {
    /// OpenTelemetry's name: `grpc`, `http/protobuf` or `http/json`.
    pub fn as_str(self) -> &'static str {
        match self {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpBinary => "http/protobuf",
            OtlpProtocol::HttpJson => "http/json",
        }
    }

    pub(crate) fn parse(field: &str, value: &str) -> Result<Self, MetricsError> {
        match value.trim() {
            "grpc" => Ok(OtlpProtocol::Grpc),
            "http/protobuf" | "httpbinary" => Ok(OtlpProtocol::HttpBinary),
            "http/json" | "httpjson" => Ok(OtlpProtocol::HttpJson),
            _ => Err(MetricsError::config(
                field,
                value,
                "expected `grpc`, `http/protobuf` or `http/json`",
            )),
        }
    }
}

impl fmt::Display for OtlpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compression of OTLP requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OtlpCompression {
    /// Uncompressed.
    #[default]
    None,
    /// gzip.
    Gzip,
}

/// OTLP exporter configuration. Its `Debug` shows header names, never their values.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// The collector's URL, used as given: `http://host:4317` for gRPC, the full
    /// `http://host:4318/v1/metrics` for HTTP (only `OTEL_EXPORTER_OTLP_ENDPOINT` is a base).
    pub endpoint: String,

    /// Transport protocol.
    #[serde(default)]
    pub protocol: OtlpProtocol,

    /// Deadline of one whole export, retries included, in seconds.
    #[serde(default = "default_otlp_timeout")]
    pub timeout_seconds: f64,

    /// Headers (HTTP) or metadata (gRPC) sent with each export, e.g. an API key.
    #[serde(default)]
    pub headers: HashMap<String, String>,

    /// Request compression.
    #[serde(default)]
    pub compression: OtlpCompression,

    /// Aggregation temporality, as the OpenTelemetry specification's
    /// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` defines it per instrument kind.
    #[serde(default)]
    pub temporality: Temporality,

    /// Where exports that failed for a retryable reason wait to be sent again; none: such an
    /// export is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spool: Option<SpoolConfig>,

    /// TLS of an `https` endpoint: trusted CA, client certificate (mTLS).
    #[serde(default, skip_serializing_if = "OtlpTlsConfig::is_default")]
    pub tls: OtlpTlsConfig,
}

/// The temporality preference (OpenTelemetry's `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
///
/// A group's counters are observed totals: asynchronous counters in the specification's
/// terms, its up-down counters asynchronous up-down counters, its gauges gauges (which have
/// no temporality). Its histograms are recorded as values come (`Histogram::record`):
/// synchronous histograms.
///
/// | preference | counters | up-down counters | histograms |
/// |---|---|---|---|
/// | `cumulative` | cumulative | cumulative | cumulative |
/// | `delta` | delta | cumulative | delta |
/// | `lowmemory` | cumulative | cumulative | delta |
///
/// (`lowmemory` makes synchronous counters and histograms delta, asynchronous counters
/// cumulative.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Temporality {
    /// Every Sum counts from the exporter's start.
    #[default]
    Cumulative,
    /// Counters and histograms send the change since the previous export.
    Delta,
    /// Delta only where it saves the SDK memory: a group's histograms.
    #[serde(rename = "lowmemory")]
    LowMemory,
}

impl Temporality {
    /// Whether counters (asynchronous counters) are sent as deltas.
    pub fn counters_are_delta(self) -> bool {
        self == Temporality::Delta
    }

    /// Whether histograms (synchronous histograms) are sent as deltas.
    pub fn histograms_are_delta(self) -> bool {
        matches!(self, Temporality::Delta | Temporality::LowMemory)
    }

    pub(crate) fn parse(field: &str, value: &str) -> Result<Self, MetricsError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "cumulative" => Ok(Temporality::Cumulative),
            "delta" => Ok(Temporality::Delta),
            "lowmemory" => Ok(Temporality::LowMemory),
            _ => Err(MetricsError::config(
                field,
                value,
                "expected `cumulative`, `delta` or `lowmemory`",
            )),
        }
    }
}

/// The OTLP spool: a directory of exports that failed for a retryable reason, each stored as
/// the encoded request it was, resent oldest first by later exports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpoolConfig {
    /// The directory, created (mode 0700) if missing. One exporter's, or shared by processes
    /// exporting the same data: a lock makes sure an entry is sent once.
    pub dir: PathBuf,

    /// The most bytes of entries kept; the oldest are dropped to make room.
    #[serde(default = "default_spool_max_bytes")]
    pub max_bytes: u64,

    /// The oldest entry kept, in seconds; older ones are dropped.
    #[serde(default = "default_spool_max_age")]
    pub max_age_seconds: u64,
}

impl SpoolConfig {
    /// A spool in `dir` with the default limits (64 MiB, one day).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SpoolConfig {
            dir: dir.into(),
            max_bytes: default_spool_max_bytes(),
            max_age_seconds: default_spool_max_age(),
        }
    }
}

fn default_spool_max_bytes() -> u64 {
    64 << 20
}

fn default_spool_max_age() -> u64 {
    86_400
}

/// TLS of the OTLP exporter, the configuration's form of the OpenTelemetry variables
/// `OTEL_EXPORTER_OTLP_{CERTIFICATE,CLIENT_CERTIFICATE,CLIENT_KEY,INSECURE}`.
///
/// An `https` endpoint is verified against the platform's root certificates and Mozilla's
/// (webpki-roots) unless `certificate` names the CAs to trust instead. The files are read
/// when the exporter is created; a missing or unparsable one fails its creation. Holds
/// paths only: no key material is kept in the configuration or shown by `Debug`.
///
/// ```
/// use metrics_core::MetricsConfig;
///
/// let config = MetricsConfig::from_json(r#"{"otlp": {"endpoint": "https://collector:4317",
///     "tls": {"certificate": "ca.pem", "client_certificate": "me.pem", "client_key": "me.key"}}}"#)
///     .unwrap();
/// // `https` needs a build with an OTLP transport, which brings TLS.
/// let with_tls = cfg!(any(feature = "otlp-grpc", feature = "otlp-http"));
/// assert_eq!(config.validate().is_ok(), with_tls);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpTlsConfig {
    /// PEM file of the CA certificates that sign the collector's certificate, trusted in
    /// place of the default roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<PathBuf>,
    /// PEM file of the client certificate (chain) sent to a collector that asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<PathBuf>,
    /// PEM file of the client certificate's private key (PKCS#8, PKCS#1 or SEC1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<PathBuf>,
    /// Plain text on purpose: an `http://` endpoint is required and no TLS file may be set.
    /// (The specification's use, choosing the scheme of an endpoint without one, does not
    /// arise: endpoints here always name their scheme.)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

impl OtlpTlsConfig {
    fn is_default(&self) -> bool {
        *self == OtlpTlsConfig::default()
    }
}

impl fmt::Debug for OtlpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut header_names: Vec<&str> = self.headers.keys().map(String::as_str).collect();
        header_names.sort_unstable();
        f.debug_struct("OtlpConfig")
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field("timeout_seconds", &self.timeout_seconds)
            .field("headers", &RedactedHeaders(&header_names))
            .field("compression", &self.compression)
            .field("temporality", &self.temporality)
            .field("spool", &self.spool)
            .field("tls", &self.tls)
            .finish()
    }
}

/// Header names with `<redacted>` in place of every value.
pub(crate) struct RedactedHeaders<'a>(pub(crate) &'a [&'a str]);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|name| (name, format_args!("<redacted>"))))
            .finish()
    }
}

impl OtlpConfig {
    /// A configuration for `endpoint` with the default protocol (gRPC), timeout and no headers.
    pub fn new(endpoint: impl Into<String>) -> Self {
        OtlpConfig {
            endpoint: endpoint.into(),
            protocol: OtlpProtocol::default(),
            timeout_seconds: default_otlp_timeout(),
            headers: HashMap::new(),
            compression: OtlpCompression::default(),
            temporality: Temporality::default(),
            spool: None,
            tls: OtlpTlsConfig::default(),
        }
    }

    /// The export deadline.
    pub fn timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.timeout_seconds).unwrap_or(Duration::MAX)
    }
}

/// File exporter configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMetricsConfig {
    /// The file: replaced atomically at each export (`json`), or appended to (`otlp_json`).
    pub path: PathBuf,

    /// Pretty-print the JSON.
    #[serde(default = "default_pretty_print")]
    pub pretty_print: bool,

    /// Deadline of one export (encode, write, fsync, rename), in seconds. An export that
    /// takes longer (a hung network file system, say) returns a timeout; its write goes on in
    /// the background and the next export lands after it.
    #[serde(default = "default_file_timeout")]
    pub timeout_seconds: f64,

    /// What is written: the group's JSON document, replacing the file (`json`), or one OTLP
    /// `ExportMetricsServiceRequest` in OTLP/JSON per line, appended (`otlp_json`).
    #[serde(default)]
    pub format: FileFormat,

    /// `otlp_json`: the size at which the file is rotated (renamed to `<path>.1`, older ones
    /// shifted up) before an export that would make it larger.
    #[serde(default = "default_file_max_bytes")]
    pub max_bytes: u64,

    /// `otlp_json`: how many rotated files are kept (`<path>.1` ..= `<path>.N`); the oldest
    /// beyond are removed. 0: the file is removed when full.
    #[serde(default = "default_file_keep_files")]
    pub keep_files: u32,
}

/// What the file exporter writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// The group's JSON document (the derived writer), replacing the file at each export.
    #[default]
    Json,
    /// OTLP/JSON lines, appended: what the OpenTelemetry Collector's `otlpjsonfile` receiver
    /// reads, and `examples/replay.rs` sends.
    OtlpJson,
}

fn default_file_max_bytes() -> u64 {
    64 << 20
}

fn default_file_keep_files() -> u32 {
    3
}

impl FileMetricsConfig {
    /// A configuration for `path`, pretty-printed, with the default timeout.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileMetricsConfig {
            path: path.into(),
            pretty_print: default_pretty_print(),
            timeout_seconds: default_file_timeout(),
            format: FileFormat::default(),
            max_bytes: default_file_max_bytes(),
            keep_files: default_file_keep_files(),
        }
    }

    /// The export deadline.
    pub fn timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.timeout_seconds).unwrap_or(Duration::MAX)
    }
}

impl MetricsConfig {
    /// The resource attributes every OTLP export carries: `service.name`, `service.namespace`
    /// if set, then `resource_attributes`.
    pub(crate) fn resource(&self) -> Vec<(String, String)> {
        let mut resource = vec![("service.name".to_owned(), self.service_name.clone())];
        if let Some(namespace) = &self.service_namespace {
            resource.push(("service.namespace".to_owned(), namespace.clone()));
        }
        resource.extend(self.resource_attributes.clone());
        resource
    }
}

/// The longest export interval, in seconds.
pub(crate) const MAX_EXPORT_INTERVAL: u64 = 86_400;

fn default_enabled() -> bool {
    true
}

fn default_export_interval() -> u64 {
    60
}

fn default_service_name() -> String {
    let executable = std::env::current_exe().ok().and_then(|path| {
        path.file_name()
            .map(|name| name.to_string_lossy().into_owned())
    });
    match executable {
        Some(name) => format!("unknown_service:{name}"),
        None => "unknown_service".to_owned(),
    }
}

fn default_otlp_timeout() -> f64 {
    10.0
}

fn default_pretty_print() -> bool {
    true
}

fn default_file_timeout() -> f64 {
    10.0
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: default_enabled(),
            export_interval_seconds: default_export_interval(),
            service_name: default_service_name(),
            service_namespace: None,
            resource_attributes: BTreeMap::new(),
            otlp: None,
            file: None,
            prometheus: None,
        }
    }
}

impl MetricsConfig {
    /// Reads a JSON configuration file. Errors name the file and the field at fault, and never
    /// show a header value.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, MetricsError> {
        let path = path.as_ref();
        let error = |reason: String| MetricsError::ConfigFile {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        Self::parse(&text).map_err(|(field, reason)| error(format!("`{field}`: {reason}")))
    }

    /// Parses a JSON configuration. Unlike `serde_json::from_str`, the error names the field
    /// at fault (`otlp.protocol`, `otlp.headers.x-api-key`, ...) and never shows a header value.
    ///
    /// ```
    /// use metrics_core::MetricsConfig;
    ///
    /// let error = MetricsConfig::from_json(r#"{"otlp": {"endpoint": "http://h", "protocol": "udp"}}"#)
    ///     .unwrap_err()
    ///     .to_string();
    /// assert!(error.starts_with("invalid metrics configuration: `otlp.protocol`: unknown variant `udp`"));
    /// ```
    pub fn from_json(text: &str) -> Result<Self, MetricsError> {
        Self::parse(text).map_err(|(field, reason)| MetricsError::ConfigParse { field, reason })
    }

    /// Parses `text`; on error, the path of the field at fault and what is wrong with it.
    fn parse(text: &str) -> Result<Self, (String, String)> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let config = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            // The path is `.` at the top, and ends in `?` where the next key is not known yet.
            let path = error.path().to_string();
            let field = match path.trim_end_matches('?').trim_end_matches('.') {
                "" => "(document)".to_owned(),
                field => field.to_owned(),
            };
            let error = error.into_inner();
            // serde's messages quote the offending value: never a header's.
            let reason = if field == "otlp.headers" || field.starts_with("otlp.headers.") {
                format!(
                    "expected header names with string values (the value is not shown: \
                     header values are secret) at line {} column {}",
                    error.line(),
                    error.column()
                )
            } else {
                error.to_string()
            };
            (field, reason)
        })?;
        deserializer
            .end()
            .map_err(|error| ("(document)".to_owned(), error.to_string()))?;
        // serde also reads a struct from an array of its fields in order, so `["http://h"]`
        // would pass for an `otlp` section: a configuration names its fields.
        let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        for (field, section) in [
            ("(document)", &value),
            ("otlp", &value["otlp"]),
            ("file", &value["file"]),
        ] {
            if section.is_array() {
                let reason = "invalid type: sequence, expected an object with named fields";
                return Err((field.to_owned(), reason.to_owned()));
            }
        }
        Ok(config)
    }

    /// The export interval.
    pub fn export_interval(&self) -> Duration {
        Duration::from_secs(self.export_interval_seconds)
    }
}
