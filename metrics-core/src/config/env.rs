//! The standard OpenTelemetry environment variables, applied over a configuration.

use std::path::PathBuf;

use super::{MetricsConfig, OtlpCompression, OtlpConfig, OtlpProtocol};
use crate::MetricsError;

impl MetricsConfig {
    /// Applies the standard `OTEL_*` variables of this process's environment; see
    /// [`apply_env_from`](Self::apply_env_from).
    pub fn apply_env(&mut self) -> Result<(), MetricsError> {
        self.apply_env_from(|name| std::env::var(name).ok())
    }

    /// Applies the standard OpenTelemetry variables, read through `lookup`, over this
    /// configuration: `OTEL_EXPORTER_OTLP_{,METRICS_}{ENDPOINT,PROTOCOL,HEADERS,TIMEOUT,COMPRESSION}`,
    /// the TLS ones `OTEL_EXPORTER_OTLP_{,METRICS_}{CERTIFICATE,CLIENT_CERTIFICATE,CLIENT_KEY,INSECURE}`
    /// (files and `true`/`false`; see [`OtlpTlsConfig`](super::OtlpTlsConfig)) (the
    /// `METRICS_` form wins), `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`
    /// (`cumulative`, `delta`, `lowmemory`, any case), `OTEL_SERVICE_NAME` and
    /// `OTEL_RESOURCE_ATTRIBUTES`.
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
            // The specification defines only the metrics-specific variable.
            let name = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
            if let Some(value) = lookup(name) {
                otlp.temporality = super::Temporality::parse(name, &value)?;
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
            // An empty variable is one not set, as shells and container specs leave them.
            let file = |suffix: &str| {
                var(suffix)
                    .map(|(_, value)| value.trim().to_owned())
                    .filter(|value| !value.is_empty())
                    .map(PathBuf::from)
            };
            if let Some(path) = file("CERTIFICATE") {
                otlp.tls.certificate = Some(path);
            }
            if let Some(path) = file("CLIENT_CERTIFICATE") {
                otlp.tls.client_certificate = Some(path);
            }
            if let Some(path) = file("CLIENT_KEY") {
                otlp.tls.client_key = Some(path);
            }
            if let Some((name, value)) = var("INSECURE") {
                otlp.tls.insecure = match value.trim().to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" | "" => false,
                    _ => {
                        return Err(MetricsError::config(
                            name,
                            value,
                            "expected `true` or `false`",
                        ))
                    }
                };
            }
        }

        if let Some(value) = lookup("OTEL_RESOURCE_ATTRIBUTES") {
            for (key, value) in parse_pairs("OTEL_RESOURCE_ATTRIBUTES", &value, false)? {
                match key.as_str() {
                    "service.name" => self.service_name = value,
                    "service.namespace" => self.service_namespace = Some(value),
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
    // percent-encoding passes a malformed escape (`%zz`, a `%` at the end) through as text:
    // here it is an error, so that a mistyped secret is refused rather than sent altered.
    let well_formed = text.split('%').skip(1).all(|after| {
        after
            .as_bytes()
            .get(..2)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()?;
    Some(decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_percent_decoded() {
        let pairs = parse_pairs("X", "a=b%20c, k%3D=v%2C", false).unwrap();
        assert_eq!(
            pairs,
            [("a".into(), "b c".into()), ("k=".into(), "v,".into())]
        );
        assert!(parse_pairs("X", "novalue", false).is_err());
        assert!(parse_pairs("X", "a=%zz", false).is_err());
        assert!(parse_pairs("X", "a=b%2", false).is_err());
        assert!(parse_pairs("X", "a=b%", false).is_err());
        assert!(parse_pairs("X", "a=%ff", false).is_err()); // not UTF-8
        assert_eq!(
            parse_pairs("X", "a=%C3%A9%25", false).unwrap(),
            [("a".into(), "é%".into())]
        );
    }
}
