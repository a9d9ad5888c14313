//! The Prometheus scrape endpoint: an HTTP/1 server whose `GET /metrics` serves the snapshot
//! the latest [`export`](MetricsExporter::export) handed it.
//!
//! A snapshot is rendered at export time, in both formats: the exporter only borrows the
//! group during `export`, so it cannot render later, and a scrape may ask for either format.
//! Scrapes then only clone an `Arc` of finished bytes, so any number of them run at once
//! without touching the group or blocking an export. The gzip body of each format is made
//! at the first scrape that asks for it and kept with the snapshot.

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

use super::{async_trait, MetricsExporter};
use crate::config::PrometheusConfig;
use crate::prometheus::{to_writer_with, Format};
use crate::{DynMetricsGroup, MetricsError};

/// Connections served at once; more wait to be accepted. Scrapers are few: the bound keeps
/// idle or hostile connections from piling up tasks.
const MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send its request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `GET /metrics` (and `HEAD`) on the configured address with the latest exported
/// snapshot, rendered at export time in both formats: text 0.0.4, or OpenMetrics when the
/// `Accept` header asks for it; gzip when accepted; 404 elsewhere.
pub struct PrometheusExporter {
    name: String,
    address: SocketAddr,
    latest: Arc<RwLock<Arc<Snapshot>>>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for PrometheusExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrometheusExporter")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// One export's exposition in both formats, and their gzip bodies once asked for.
#[derive(Default)]
struct Snapshot {
    bodies: [Bytes; 2],
    gzipped: [OnceLock<Bytes>; 2],
}

impl Snapshot {
    fn body(&self, format: Format, gzip: bool) -> Bytes {
        let index = format_index(format);
        if !gzip {
            return self.bodies[index].clone();
        }
        self.gzipped[index]
            .get_or_init(|| {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                // Writing to a `Vec` cannot fail.
                let _ = encoder.write_all(&self.bodies[index]);
                Bytes::from(encoder.finish().unwrap_or_default())
            })
            .clone()
    }
}

fn format_index(format: Format) -> usize {
    match format {
        Format::Text => 0,
        Format::OpenMetrics => 1,
    }
}

impl PrometheusExporter {
    /// Listens on `config.listen` and starts serving; until the first export, scrapes get an
    /// empty exposition. Must be called inside a Tokio runtime. A bad address or one that
    /// cannot be listened on (in use, not local) is an error naming it.
    pub fn new(config: &PrometheusConfig) -> Result<Self, MetricsError> {
        let address = config.listen_address()?;
        let cannot_listen = |error: std::io::Error| {
            MetricsError::config(
                "prometheus.listen",
                &config.listen,
                format!("cannot listen on it: {error}"),
            )
        };
        let listener = std::net::TcpListener::bind(address).map_err(cannot_listen)?;
        listener.set_nonblocking(true).map_err(cannot_listen)?;
        let address = listener.local_addr().map_err(cannot_listen)?;
        let listener = TcpListener::from_std(listener).map_err(cannot_listen)?;
        let latest = Arc::new(RwLock::new(Arc::new(Snapshot::default())));
        let server = tokio::spawn(serve(listener, Arc::clone(&latest)));
        Ok(PrometheusExporter {
            name: format!("prometheus http://{address}/metrics"),
            address,
            latest,
            server: Mutex::new(Some(server)),
        })
    }

    /// The address it listens on (with the port the system chose, when configured as 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }
}

#[async_trait]
impl MetricsExporter for PrometheusExporter {
    fn name(&self) -> &str {
        &self.name
    }

    async fn export(&self, group: &dyn DynMetricsGroup) -> Result<(), MetricsError> {
        if self
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
        {
            return Err(MetricsError::ShutDown {
                backend: self.name.clone(),
            });
        }
        let previous = Arc::clone(&self.latest.read().unwrap_or_else(PoisonError::into_inner));
        let mut bodies: [Bytes; 2] = Default::default();
        for format in [Format::Text, Format::OpenMetrics] {
            let index = format_index(format);
            let mut body = Vec::with_capacity(previous.bodies[index].len());
            to_writer_with(group, format, &mut body)?;
            bodies[index] = body.into();
        }
        let snapshot = Arc::new(Snapshot {
            bodies,
            gzipped: Default::default(),
        });
        *self.latest.write().unwrap_or_else(PoisonError::into_inner) = snapshot;
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), MetricsError> {
        let server = self
            .server
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(server) = server {
            // Stops accepting and drops every open connection with the task's `JoinSet`.
            server.abort();
            let _ = server.await;
        }
        Ok(())
    }
}

impl Drop for PrometheusExporter {
    fn drop(&mut self) {
        if let Some(server) = self
            .server
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            server.abort();
        }
    }
}

/// Accepts connections until aborted; each is served by a task of its own.
async fn serve(listener: TcpListener, latest: Arc<RwLock<Arc<Snapshot>>>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        // Reap finished connections so the set does not grow with every scrape.
        while connections.try_join_next().is_some() {}
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors, say: wait rather than spin.
                tracing::warn!(%error, "Prometheus endpoint: accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let latest = Arc::clone(&latest);
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let snapshot = Arc::clone(&latest.read().unwrap_or_else(PoisonError::into_inner));
                async move { Ok::<_, Infallible>(respond(&request, &snapshot)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    }
}

/// The response to one request: the snapshot for `GET` or `HEAD /metrics`, 404 elsewhere.
fn respond(request: &Request<Incoming>, snapshot: &Snapshot) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    if request.uri().path() != "/metrics" {
        *response.status_mut() = StatusCode::NOT_FOUND;
        return response;
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let headers = request.headers();
    let format = if accepts(headers, header::ACCEPT, "application/openmetrics-text") {
        Format::OpenMetrics
    } else {
        Format::Text
    };
    let gzip = accepts(headers, header::ACCEPT_ENCODING, "gzip");
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response_headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    if gzip {
        response_headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    *response.body_mut() = Full::new(snapshot.body(format, gzip));
    response
}

/// Whether a `header` list (`Accept`, `Accept-Encoding`) names `wanted` with a weight above
/// zero (`q=0` means "not this").
fn accepts(headers: &HeaderMap, header: header::HeaderName, wanted: &str) -> bool {
    headers
        .get_all(header)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name_matches = parts
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case(wanted));
            let refused = parts.any(|param| {
                param
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            name_matches && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_are_read_with_their_weights() {
        let mut headers = HeaderMap::new();
        let check =
            |headers: &HeaderMap| accepts(headers, header::ACCEPT, "application/openmetrics-text");
        assert!(!check(&headers));
        // What Prometheus 2.42 sends.
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
        assert!(check(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/plain;version=0.0.4"),
        );
        assert!(!check(&headers));
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/openmetrics-text; q=0, text/plain"),
        );
        assert!(!check(&headers));
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("deflate, GZIP;q=0.5"),
        );
        assert!(accepts(&headers, header::ACCEPT_ENCODING, "gzip"));
    }
}
