//! OTLP/HTTP: the already-encoded request `POST`ed with reqwest, protobuf or JSON, gzip
//! optional. Redirects are never followed: a 3xx is an error naming where it pointed.

use std::io::Write;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::{redirect, Client, Response, StatusCode};

use super::response::{self, Rejected};
use super::retry::Failure;
use super::tls::{self, Tls};
use super::{cause, transport_failure, Redactor};
use crate::config::{OtlpCompression, OtlpConfig, OtlpProtocol};

/// The most of a response body read: enough for any status message or partial success.
/// A longer body is left unread; the status line has already said whether it was delivered.
const MAX_RESPONSE: usize = 64 << 10;

/// The longest of a collector's message quoted in an error.
const MAX_QUOTED: usize = 300;

/// An HTTP client for one endpoint.
pub(super) struct Http {
    client: Client,
    url: String,
    json: bool,
    gzip: bool,
    /// For an `https` endpoint, its TLS, to explain a failed handshake.
    tls: Option<Tls>,
}

impl Http {
    pub(super) fn new(
        config: &OtlpConfig,
        url: &str,
        timeout: Duration,
        tls: Option<Tls>,
    ) -> Result<Self, String> {
        let json = config.protocol == OtlpProtocol::HttpJson;
        let gzip = config.compression == OtlpCompression::Gzip;
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            // Validation admits only valid names and values; the message never shows a value.
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name `{name}`"))?;
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| format!("invalid value for header `{name}`"))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let content_type = if json {
            "application/json"
        } else {
            "application/x-protobuf"
        };
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        if gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        let tls_config = match &tls {
            Some(tls) => tls.client_config(b"http/1.1"),
            None => tls::plain_http_config()?,
        };
        let client = Client::builder()
            .default_headers(headers)
            .redirect(redirect::Policy::none())
            .connect_timeout(timeout)
            .tls_backend_preconfigured(tls_config)
            .build()
            .map_err(|e| format!("building the HTTP client failed: {}", cause(&e)))?;
        Ok(Http {
            client,
            url: url.to_owned(),
            json,
            gzip,
            tls,
        })
    }

    /// The request body for `encoded`: itself, or gzipped.
    pub(super) fn body(&self, encoded: Vec<u8>) -> Vec<u8> {
        if !self.gzip {
            return encoded;
        }
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(encoded.len() / 4),
            flate2::Compression::default(),
        );
        // Writing to a Vec cannot fail.
        let _ = gz.write_all(&encoded);
        gz.finish().unwrap_or_default()
    }

    /// One try: posts `body`.
    pub(super) async fn send(
        &self,
        body: Vec<u8>,
        redactor: &Redactor,
    ) -> Result<Result<(), Rejected>, Failure> {
        let response = self
            .client
            .post(&self.url)
            .body(body)
            .send()
            .await
            .map_err(|e| transport_failure(&e, self.tls.as_ref(), e.is_connect()))?;
        let status = response.status();
        if status.is_success() {
            let body = read_body(response).await;
            let rejected = if self.json {
                response::rejected_json(&body)
            } else {
                response::rejected_protobuf(&body)
            };
            return Ok(match rejected {
                Some(rejected) => Err(Rejected {
                    points: rejected.points,
                    message: redactor.redact(&rejected.message),
                }),
                None => Ok(()),
            });
        }
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or("no Location");
            return Err(Failure::Permanent(redactor.redact(&format!(
                "HTTP status {status}: redirected to {location}, which is not followed: configure the endpoint it names"
            ))));
        }
        let after = retry_after(&response);
        let body = read_body(response).await;
        let detail = response::status_message(&body, self.json)
            .or_else(|| String::from_utf8(body).ok())
            .map(|text| quote(text.trim()))
            .filter(|text| !text.is_empty());
        let message = redactor.redact(&match detail {
            Some(detail) => format!("HTTP status {status}: {detail}"),
            None => format!("HTTP status {status}"),
        });
        if matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS
                | StatusCode::BAD_GATEWAY
                | StatusCode::SERVICE_UNAVAILABLE
                | StatusCode::GATEWAY_TIMEOUT
        ) {
            Err(Failure::Transient { message, after })
        } else {
            Err(Failure::Permanent(message))
        }
    }
}

/// At most [`MAX_RESPONSE`] bytes of the body; a failure to read it is not an export failure.
async fn read_body(mut response: Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        if body.len() + chunk.len() > MAX_RESPONSE {
            return Vec::new();
        }
        body.extend_from_slice(&chunk);
    }
    body
}

/// `Retry-After` in seconds or as an HTTP date.
fn retry_after(response: &Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(SystemTime::now()).unwrap_or_default())
}

/// `text` cut to [`MAX_QUOTED`] characters.
fn quote(text: &str) -> String {
    match text.char_indices().nth(MAX_QUOTED) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}
