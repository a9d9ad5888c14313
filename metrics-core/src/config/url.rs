//! Endpoint URLs: the shape validation accepts, and the URL requests go to.
//!
//! The check is written here rather than taken from a URL crate because neither maintained
//! candidate fits: `url` (WHATWG) brings IDNA with ICU4X, some 40 crates, into every build
//! with the `export` feature, and silently removes tabs and newlines where this check refuses
//! them; `http::Uri` (what tonic parses) accepts an empty host, a port of `abc` or `70000`
//! and `[zz]` as an IPv6 host, each of which would still need the checks below.

use super::OtlpConfig;

impl OtlpConfig {
    /// The URL requests go to: the endpoint as given, per the OpenTelemetry specification
    /// for a signal-specific endpoint (for HTTP, the full `.../v1/metrics` URL). Only
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL, completed when it is read.
    pub fn export_url(&self) -> String {
        self.endpoint.clone()
    }
}

/// Whether `url` asks for TLS.
pub(crate) fn is_https(url: &str) -> bool {
    url.starts_with("https://")
}

/// Why an endpoint URL is refused.
pub(super) enum UrlProblem {
    /// `user:password@` in the URL.
    Credentials,
    /// Anything else, with what would be accepted.
    Other(&'static str),
}

/// Checks the shape of an `http://` or `https://` URL with a host and an optional port.
/// `https` is refused in a build without an OTLP transport (none has TLS): refusing it here
/// says so, where a transport would fail later with little detail.
pub(super) fn check_url(url: &str) -> Result<(), UrlProblem> {
    if is_https(url) && !cfg!(feature = "tls") {
        return Err(UrlProblem::Other(
            "`https` needs TLS, which comes with the OTLP transports: enable the cargo feature `otlp-grpc` or `otlp-http` of metrics-core",
        ));
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or(UrlProblem::Other(
            "expected an `http://` URL (or `https://`)",
        ))?;
    if url.chars().any(char::is_whitespace) {
        return Err(UrlProblem::Other("a URL cannot contain spaces"));
    }
    // What the transports' URI parser refuses, refused here where the field can be named.
    if url
        .bytes()
        .any(|b| !b.is_ascii_graphic() || b"\"<>\\^`{|}".contains(&b))
    {
        return Err(UrlProblem::Other(
            "a URL is visible ASCII without quotes, backticks, `<`, `>`, `\\`, `^`, `{`, `|` or `}`: write a non-ASCII host in punycode (`xn--`) and percent-encode the rest",
        ));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::OtlpProtocol;

    #[test]
    fn urls() {
        assert!(check_url("http://127.0.0.1:4317").is_ok());
        assert!(check_url("http://collector.example/v1/metrics").is_ok());
        assert_eq!(
            check_url("https://collector.example/v1/metrics").is_ok(),
            cfg!(feature = "tls")
        );
        assert!(check_url("https://").is_err());
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
        assert!(check_url("http://\u{a1}127.0.0.1:4317").is_err());
        assert!(check_url("http://h:4318/a{b}").is_err());
        assert!(check_url("http://xn--bcher-kva.example:4318/v1/metrics").is_ok());
    }

    #[test]
    fn the_endpoint_is_used_as_given() {
        let mut otlp = OtlpConfig::new("http://h:4318");
        otlp.protocol = OtlpProtocol::HttpJson;
        assert_eq!(otlp.export_url(), "http://h:4318");
        otlp.endpoint = "http://h:4318/custom".into();
        assert_eq!(otlp.export_url(), "http://h:4318/custom");
        otlp.protocol = OtlpProtocol::Grpc;
        otlp.endpoint = "http://h:4317".into();
        assert_eq!(otlp.export_url(), "http://h:4317");
    }
}
