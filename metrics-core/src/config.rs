//! [`MetricsConfig`]: which exporters to build, from a file, defaults and the standard
//! `OTEL_*` environment variables.
//!
//! The fields and defaults are those of the hand-written scheduler's configuration, so its
//! files load unchanged. Unknown fields are rejected (a typo must not silently disable an
//! exporter). [`MetricsConfig::validate`] checks every value and names the field at fault.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::MetricsError;

/// Top-level metrics configuration.
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

    /// `service.name` reported to backends.
    #[serde(default = "default_service_name")]
    pub service_name: String,

    /// `service.namespace` reported to backends.
    #[serde(default = "default_service_namespace")]
    pub service_namespace: String,

    /// Further resource attributes (also from `OTEL_RESOURCE_ATTRIBUTES`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_attributes: BTreeMap<String, String>,

    /// The OTLP exporter, if any.
    #[serde(default)]
    pub otlp: Option<OtlpConfig>,

    /// The JSON file exporter, if any.
    #[serde(default)]
    pub file: Option<FileMetricsConfig>,
}

/// OTLP transport protocol. Reads both the scheduler's names (`grpc`, `httpbinary`,
/// `httpjson`) and OpenTelemetry's (`grpc`, `http/protobuf`, `http/json`).
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

    fn parse(field: &str, value: &str) -> Result<Self, MetricsError> {
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
    /// The collector's URL: `http://host:4317` for gRPC; for HTTP either the full
    /// `.../v1/metrics` URL or a base URL without a path, to which `/v1/metrics` is added.
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
        }
    }

    /// The export deadline.
    pub fn timeout(&self) -> Duration {
        Duration::try_from_secs_f64(self.timeout_seconds).unwrap_or(Duration::MAX)
    }

    /// The URL requests go to: for HTTP, `/v1/metrics` is added to an endpoint without a path.
    pub fn export_url(&self) -> String {
        let endpoint = self.endpoint.trim_end_matches('/');
        let has_path = endpoint
            .split_once("://")
            .is_some_and(|(_, rest)| rest.contains('/'));
        match self.protocol {
            OtlpProtocol::HttpBinary | OtlpProtocol::HttpJson if !has_path => {
                format!("{endpoint}/v1/metrics")
            }
            _ => endpoint.to_owned(),
        }
    }
}

/// File exporter configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMetricsConfig {
    /// The JSON file, replaced atomically at each export.
    pub path: PathBuf,

    /// Pretty-print the JSON.
    #[serde(default = "default_pretty_print")]
    pub pretty_print: bool,
}

/// The longest export interval, in seconds.
const MAX_EXPORT_INTERVAL: u64 = 86_400;

fn default_enabled() -> bool {
    true
}

fn default_export_interval() -> u64 {
    60
}

fn default_service_name() -> String {
    "symbiont-scheduler".to_owned()
}

fn default_service_namespace() -> String {
    "symbiont".to_owned()
}

fn default_otlp_timeout() -> f64 {
    10.0
}

fn default_pretty_print() -> bool {
    true
}

impl Default for FileMetricsConfig {
    fn default() -> Self {
        FileMetricsConfig {
            path: std::env::temp_dir().join("symbiont_scheduler_metrics.json"),
            pretty_print: true,
        }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: default_enabled(),
            export_interval_seconds: default_export_interval(),
            service_name: default_service_name(),
            service_namespace: default_service_namespace(),
            resource_attributes: BTreeMap::new(),
            otlp: None,
            file: Some(FileMetricsConfig::default()),
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

    /// Applies the standard `OTEL_*` variables of this process's environment; see
    /// [`apply_env_from`](Self::apply_env_from).
    pub fn apply_env(&mut self) -> Result<(), MetricsError> {
        self.apply_env_from(|name| std::env::var(name).ok())
    }

    /// Applies the standard OpenTelemetry variables, read through `lookup`, over this
    /// configuration: `OTEL_EXPORTER_OTLP_{,METRICS_}{ENDPOINT,PROTOCOL,HEADERS,TIMEOUT,COMPRESSION}`
    /// (the `METRICS_` form wins), `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`.
    ///
    /// An endpoint variable enables OTLP when the configuration has none. Per the OTel
    /// specification, `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL (HTTP adds `/v1/metrics`),
    /// the `METRICS_` endpoint is used as is, and the timeout is in milliseconds.
    pub fn apply_env_from(
        &mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(), MetricsError> {
        let var = |suffix: &str| {
            let specific = format!("OTEL_EXPORTER_OTLP_METRICS_{suffix}");
            let general = format!("OTEL_EXPORTER_OTLP_{suffix}");
            match lookup(&specific) {
                Some(value) => Some((specific, value)),
                None => lookup(&general).map(|value| (general, value)),
            }
        };

        let endpoint = var("ENDPOINT");
        if let Some((_, value)) = &endpoint {
            let otlp = self
                .otlp
                .get_or_insert_with(|| OtlpConfig::new(value.clone()));
            otlp.endpoint = value.clone();
        }
        if let Some(otlp) = &mut self.otlp {
            if let Some((name, value)) = var("PROTOCOL") {
                otlp.protocol = OtlpProtocol::parse(&name, &value)?;
            }
            // A metrics-specific endpoint is the full URL: make sure no path is added.
            if let Some((name, value)) = &endpoint {
                let is_specific = name.contains("_METRICS_");
                let is_http = otlp.protocol != OtlpProtocol::Grpc;
                if is_http && !is_specific {
                    otlp.endpoint = format!("{}/v1/metrics", value.trim_end_matches('/'));
                }
            }
            if let Some((name, value)) = var("HEADERS") {
                otlp.headers.extend(parse_pairs(&name, &value, true)?);
            }
            if let Some((name, value)) = var("TIMEOUT") {
                let millis: f64 = value.trim().parse().map_err(|_| {
                    MetricsError::config(&name, &value, "expected milliseconds, e.g. `10000`")
                })?;
                otlp.timeout_seconds = millis / 1000.0;
            }
            if let Some((name, value)) = var("COMPRESSION") {
                otlp.compression = match value.trim() {
                    "gzip" => OtlpCompression::Gzip,
                    "none" | "" => OtlpCompression::None,
                    _ => {
                        return Err(MetricsError::config(
                            name,
                            value,
                            "expected `gzip` or `none`",
                        ))
                    }
                };
            }
        }

        if let Some(value) = lookup("OTEL_RESOURCE_ATTRIBUTES") {
            for (key, value) in parse_pairs("OTEL_RESOURCE_ATTRIBUTES", &value, false)? {
                match key.as_str() {
                    "service.name" => self.service_name = value,
                    "service.namespace" => self.service_namespace = value,
                    _ => {
                        self.resource_attributes.insert(key, value);
                    }
                }
            }
        }
        if let Some(value) = lookup("OTEL_SERVICE_NAME") {
            self.service_name = value;
        }
        Ok(())
    }

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
            // Larger values overflow the reporter's clock arithmetic.
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
        }
        if let Some(otlp) = &self.otlp {
            otlp.validate()?;
        }
        Ok(())
    }
}

impl OtlpConfig {
    fn validate(&self) -> Result<(), MetricsError> {
        check_url(&self.endpoint).map_err(|problem| match problem {
            // The value holds a password: never repeat it.
            UrlProblem::Credentials => MetricsError::Config {
                field: "otlp.endpoint".to_owned(),
                value: "<redacted>".to_owned(),
                reason: "credentials in the URL would show in exporter names, errors and logs: put them in `headers`".to_owned(),
            },
            UrlProblem::Other(reason) => MetricsError::config("otlp.endpoint", &self.endpoint, reason),
        })?;
        if !(self.timeout_seconds.is_finite() && self.timeout_seconds > 0.0) {
            return Err(MetricsError::config(
                "otlp.timeout_seconds",
                self.timeout_seconds,
                "must be a positive number of seconds",
            ));
        }
        if self.timeout_seconds > 3600.0 {
            return Err(MetricsError::config(
                "otlp.timeout_seconds",
                self.timeout_seconds,
                "must be at most 3600 seconds",
            ));
        }
        for (name, value) in &self.headers {
            let field = format!("otlp.headers.{name}");
            if name.is_empty() || !name.bytes().all(is_header_name_byte) {
                return Err(MetricsError::config(
                    field,
                    name,
                    "header names use letters, digits and `!#$%&'*+-.^_`|~` only",
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
        Ok(())
    }
}

/// An RFC 7230 token character, the bytes of a valid header name.
fn is_header_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Why an endpoint URL is refused.
enum UrlProblem {
    /// `user:password@` in the URL.
    Credentials,
    /// Anything else, with what would be accepted.
    Other(&'static str),
}

/// Checks the shape of an `http://` URL with a host and an optional port. `https` is refused
/// because this build has no TLS: refusing it here says so, where the transports would fail
/// later with little detail.
fn check_url(url: &str) -> Result<(), UrlProblem> {
    if url.starts_with("https://") {
        return Err(UrlProblem::Other(
            "`https` needs TLS, which this build does not include: use `http://` to a collector you trust (on this host, or behind a TLS-terminating proxy)",
        ));
    }
    let rest = url
        .strip_prefix("http://")
        .ok_or(UrlProblem::Other("expected an `http://` URL"))?;
    if url.chars().any(char::is_whitespace) {
        return Err(UrlProblem::Other("a URL cannot contain spaces"));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(UrlProblem::Credentials);
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or(UrlProblem::Other("unclosed `[` in the host"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(UrlProblem::Other("the URL has no host"));
    }
    if let Some(port) = port {
        if port.parse::<u16>().is_err() {
            return Err(UrlProblem::Other(
                "the port must be a number from 0 to 65535",
            ));
        }
    }
    Ok(())
}

/// Parses `key=value,key=value` (W3C baggage style, values percent-decoded), as in
/// `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES`.
fn parse_pairs(
    name: &str,
    text: &str,
    secret: bool,
) -> Result<Vec<(String, String)>, MetricsError> {
    // A pair without `=` may be nothing but the secret itself.
    let shown = |pair: &str| match (secret, pair.split_once('=')) {
        (false, _) => pair.to_owned(),
        (true, Some((key, _))) => format!("{key}=<redacted>"),
        (true, None) => "<redacted>".to_owned(),
    };
    text.split(',')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                MetricsError::config(
                    name,
                    shown(pair),
                    "expected `key=value` pairs separated by commas",
                )
            })?;
            let key = percent_decode(key.trim());
            let value = percent_decode(value.trim());
            match (key, value) {
                (Some(key), Some(value)) if !key.is_empty() => Ok((key, value)),
                _ => Err(MetricsError::config(
                    name,
                    shown(pair),
                    "expected a non-empty key and valid percent-encoding",
                )),
            }
        })
        .collect()
}

/// Decodes `%XX` escapes; `None` on a malformed escape or invalid UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("http://127.0.0.1:4317").is_ok());
        assert!(check_url("http://collector.example/v1/metrics").is_ok());
        assert!(check_url("https://collector.example/v1/metrics").is_err());
        assert!(matches!(
            check_url("http://user:pw@h:4317"),
            Err(UrlProblem::Credentials)
        ));
        assert!(check_url("http://[::1]:4318").is_ok());
        assert!(check_url("").is_err());
        assert!(check_url("127.0.0.1:4317").is_err());
        assert!(check_url("http://").is_err());
        assert!(check_url("http://host:99999").is_err());
        assert!(check_url("http://ho st").is_err());
    }

    #[test]
    fn pairs_are_percent_decoded() {
        let pairs = parse_pairs("X", "a=b%20c, k%3D=v%2C", false).unwrap();
        assert_eq!(
            pairs,
            [("a".into(), "b c".into()), ("k=".into(), "v,".into())]
        );
        assert!(parse_pairs("X", "novalue", false).is_err());
        assert!(parse_pairs("X", "a=%zz", false).is_err());
    }

    #[test]
    fn http_base_endpoint_gets_the_metrics_path() {
        let mut otlp = OtlpConfig::new("http://h:4318/");
        otlp.protocol = OtlpProtocol::HttpJson;
        assert_eq!(otlp.export_url(), "http://h:4318/v1/metrics");
        otlp.endpoint = "http://h:4318/custom".into();
        assert_eq!(otlp.export_url(), "http://h:4318/custom");
        otlp.protocol = OtlpProtocol::Grpc;
        otlp.endpoint = "http://h:4317".into();
        assert_eq!(otlp.export_url(), "http://h:4317");
    }
}
