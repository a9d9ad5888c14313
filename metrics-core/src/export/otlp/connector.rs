//! gRPC over TLS: tonic's channel connects through this connector, which makes the TCP
//! connection and the TLS handshake with the exporter's rustls configuration (the roots and
//! client certificate the HTTP transport uses too), so a handshake failure comes back as
//! rustls' own error, and tonic needs no TLS feature of its own.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Connects to an `https` endpoint's host and port and shakes hands, offering `h2`.
#[derive(Clone)]
pub(super) struct TlsConnect {
    connector: TlsConnector,
}

impl TlsConnect {
    pub(super) fn new(config: rustls::ClientConfig) -> Self {
        TlsConnect {
            connector: TlsConnector::from(Arc::new(config)),
        }
    }
}

type Connecting = Pin<Box<dyn Future<Output = io::Result<TokioIo<TlsStream<TcpStream>>>> + Send>>;

impl tower_service::Service<Uri> for TlsConnect {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = io::Error;
    type Future = Connecting;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Connecting {
        let connector = self.connector.clone();
        Box::pin(async move {
            let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidInput, message);
            let host = uri
                .host()
                .ok_or_else(|| invalid("the endpoint has no host".to_owned()))?;
            // An IPv6 address comes bracketed, as in the URL.
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned();
            let port = uri.port_u16().unwrap_or(443);
            let name = ServerName::try_from(host.clone())
                .map_err(|e| invalid(format!("`{host}` cannot be a TLS server name: {e}")))?;
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            Ok(TokioIo::new(connector.connect(name, tcp).await?))
        })
    }
}
