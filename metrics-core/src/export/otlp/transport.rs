//! Building the SDK's OTLP exporter for the configured protocol, endpoint, headers,
//! compression and timeout.

use opentelemetry_otlp::MetricExporter;
#[cfg(feature = "otlp-grpc")]
use opentelemetry_otlp::WithTonicConfig;
#[allow(unused_imports)]
use opentelemetry_otlp::{Compression, WithExportConfig};
#[cfg(feature = "otlp-http")]
use opentelemetry_otlp::{Protocol, WithHttpConfig};
use opentelemetry_sdk::metrics::Temporality;

use crate::config::{OtlpCompression, OtlpConfig, OtlpProtocol};
use crate::MetricsError;

/// The SDK exporter for `config`. gRPC needs a running Tokio runtime, which must outlive it.
pub(super) fn build(config: &OtlpConfig) -> Result<MetricExporter, MetricsError> {
    let url = config.export_url();
    let failed = |message: String| MetricsError::Otlp {
        endpoint: url.clone(),
        protocol: config.protocol.as_str(),
        message,
    };
    match config.protocol {
        OtlpProtocol::Grpc => grpc(config, &url).map_err(failed),
        OtlpProtocol::HttpBinary | OtlpProtocol::HttpJson => http(config, &url).map_err(failed),
    }
}

#[cfg(feature = "otlp-grpc")]
fn grpc(config: &OtlpConfig, url: &str) -> Result<MetricExporter, String> {
    use opentelemetry_otlp::tonic_types::metadata::MetadataMap;

    if tokio::runtime::Handle::try_current().is_err() {
        return Err("the gRPC exporter must be created inside a Tokio runtime".to_owned());
    }
    let mut headers = http::HeaderMap::new();
    for (name, value) in &config.headers {
        // Validation admits only valid names and values; the message never shows a value.
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid metadata name `{name}`"))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| format!("invalid value for metadata `{name}`"))?;
        headers.insert(name, value);
    }
    let mut builder = MetricExporter::builder()
        .with_tonic()
        .with_temporality(Temporality::Cumulative)
        .with_endpoint(url)
        .with_timeout(config.timeout())
        .with_metadata(MetadataMap::from_headers(headers));
    if config.compression == OtlpCompression::Gzip {
        builder = builder.with_compression(Compression::Gzip);
    }
    builder.build().map_err(|e| e.to_string())
}

#[cfg(not(feature = "otlp-grpc"))]
fn grpc(_config: &OtlpConfig, _url: &str) -> Result<MetricExporter, String> {
    Err("gRPC is not compiled in: enable the cargo feature `otlp-grpc` of metrics-core".to_owned())
}

#[cfg(feature = "otlp-http")]
fn http(config: &OtlpConfig, url: &str) -> Result<MetricExporter, String> {
    let protocol = match config.protocol {
        OtlpProtocol::HttpJson => Protocol::HttpJson,
        _ => Protocol::HttpBinary,
    };
    let mut builder = MetricExporter::builder()
        .with_http()
        // Always explicit: with both HTTP encodings compiled in, the SDK defaults to JSON.
        .with_protocol(protocol)
        .with_temporality(Temporality::Cumulative)
        .with_endpoint(url)
        .with_timeout(config.timeout())
        .with_headers(config.headers.clone());
    if config.compression == OtlpCompression::Gzip {
        builder = builder.with_compression(Compression::Gzip);
    }
    builder.build().map_err(|e| e.to_string())
}

#[cfg(not(feature = "otlp-http"))]
fn http(_config: &OtlpConfig, _url: &str) -> Result<MetricExporter, String> {
    Err("HTTP is not compiled in: enable the cargo feature `otlp-http` of metrics-core".to_owned())
}
