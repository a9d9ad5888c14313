//! OTLP/gRPC: the already-encoded request sent as the message of a unary
//! `MetricsService/Export` call, with tonic and a codec that copies bytes.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue, MetadataMap};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use super::connector::TlsConnect;
use super::response::{self, Rejected};
use super::retry::Failure;
use super::tls::Tls;
use super::{cause, transport_failure, Redactor};
use crate::config::{OtlpCompression, OtlpConfig};

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/// The largest response read: a collector's answer is a few bytes; a bigger one is dropped
/// unread rather than failing a delivered export.
const MAX_RESPONSE: usize = 4 << 20;

/// A gRPC client for one endpoint.
///
/// Its channel belongs to the Tokio runtime it was made in (its connection task runs there):
/// it is made at the first export, and made again when an export runs in another runtime,
/// so the exporter outlives a runtime that was dropped.
pub(super) struct Grpc {
    endpoint: Endpoint,
    metadata: MetadataMap,
    gzip: bool,
    /// For an `https` endpoint, its TLS, which tonic's channel connects through.
    tls: Option<(Tls, TlsConnect)>,
    channel: Mutex<Option<(tokio::runtime::Id, Channel)>>,
}

impl Grpc {
    pub(super) fn new(
        config: &OtlpConfig,
        url: &str,
        timeout: Duration,
        tls: Option<Tls>,
    ) -> Result<Self, String> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|e| format!("invalid gRPC endpoint: {}", cause(&e)))?
            .connect_timeout(timeout)
            .tcp_nodelay(true);
        let tls = tls.map(|tls| {
            let connector = TlsConnect::new(tls.client_config(b"h2"));
            (tls, connector)
        });
        let mut metadata = MetadataMap::new();
        for (name, value) in &config.headers {
            // Validation admits only valid names and values; the message never shows a value.
            let key = AsciiMetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes())
                .map_err(|_| format!("invalid metadata name `{name}`"))?;
            let value = AsciiMetadataValue::try_from(value.as_str())
                .map_err(|_| format!("invalid value for metadata `{name}`"))?;
            metadata.insert(key, value);
        }
        Ok(Grpc {
            endpoint,
            metadata,
            gzip: config.compression == OtlpCompression::Gzip,
            tls,
            channel: Mutex::new(None),
        })
    }

    /// The channel of the current runtime.
    fn channel(&self) -> Result<Channel, Failure> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| {
                Failure::Permanent(
                    "the gRPC transport runs in a Tokio runtime: call export from one".to_owned(),
                )
            })?
            .id();
        let mut cached = self.channel.lock().unwrap_or_else(PoisonError::into_inner);
        match &*cached {
            Some((id, channel)) if *id == runtime => Ok(channel.clone()),
            _ => {
                let channel = match &self.tls {
                    Some((_, connector)) => {
                        self.endpoint.connect_with_connector_lazy(connector.clone())
                    }
                    None => self.endpoint.connect_lazy(),
                };
                *cached = Some((runtime, channel.clone()));
                Ok(channel)
            }
        }
    }

    /// One try: sends `body`, an encoded `ExportMetricsServiceRequest`.
    pub(super) async fn send(
        &self,
        body: Bytes,
        redactor: &Redactor,
    ) -> Result<Result<(), Rejected>, Failure> {
        let mut grpc =
            tonic::client::Grpc::new(self.channel()?).max_decoding_message_size(MAX_RESPONSE);
        if self.gzip {
            grpc = grpc.send_compressed(CompressionEncoding::Gzip);
        }
        grpc.ready()
            .await
            .map_err(|e| transport_failure(&e, self.tls(), true))?;
        let mut request = tonic::Request::new(body);
        *request.metadata_mut() = self.metadata.clone();
        let path = PathAndQuery::from_static(EXPORT_PATH);
        match grpc.unary(request, path, RawCodec).await {
            Ok(response) => Ok(match response::rejected_protobuf(response.get_ref()) {
                Some(rejected) => Err(rejected),
                None => Ok(()),
            }),
            // A response message is only sent with an OK status: one too large to read
            // still says the export was delivered, and must not be sent again.
            Err(status) if is_oversized_response(&status) => Ok(Ok(())),
            Err(status) => Err(classify(&status, redactor, self.tls())),
        }
    }

    fn tls(&self) -> Option<&Tls> {
        self.tls.as_ref().map(|(tls, _)| tls)
    }
}

/// tonic's refusal of a response message over [`MAX_RESPONSE`], before reading it.
fn is_oversized_response(status: &Status) -> bool {
    status.code() == Code::OutOfRange
        && status
            .message()
            .starts_with("Error, decoded message length too large")
}

/// Retryable or not, per the OTLP specification's table of gRPC codes; the message names the
/// cause once: the connection error if there was one, else the code and the collector's
/// message (redacted).
fn classify(status: &Status, redactor: &Redactor, tls: Option<&Tls>) -> Failure {
    let retry_info = response::retry_info(status.details());
    let message = match std::error::Error::source(status) {
        // A TLS handshake failure is permanent whatever the code; else the code decides.
        Some(source) => match transport_failure(source, tls, true) {
            tls @ Failure::Permanent(_) => return tls,
            Failure::Transient { message, .. } => message,
        },
        None => redactor.redact(&format!(
            "gRPC status {:?}: {}",
            status.code(),
            status.message()
        )),
    };
    match status.code() {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss => Failure::Transient {
            message,
            after: retry_info,
        },
        // Retryable only when the collector says when it can take more.
        Code::ResourceExhausted if retry_info.is_some() => Failure::Transient {
            message,
            after: retry_info,
        },
        _ => Failure::Permanent(message),
    }
}

/// Sends bytes as they are and hands back the response's bytes.
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut message = vec![0; src.remaining()];
        src.copy_to_slice(&mut message);
        Ok(Some(message))
    }
}
