//! An `SdkMeterProvider` exporting over OTLP as our configuration says.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_otlp::{
    Compression, MetricExporter, Protocol, WithExportConfig, WithHttpConfig, WithTonicConfig,
};
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider, Temporality};
use opentelemetry_sdk::Resource;

use crate::config::{OtlpCompression, OtlpConfig, OtlpProtocol};
use crate::{MetricsConfig, MetricsError};

/// An OpenTelemetry SDK meter provider that exports to `config.otlp` every
/// `export_interval_seconds`, with the configured resource (`service.name`,
/// `service.namespace` if set, `resource_attributes`), headers, timeout, compression and
/// protocol. Put your own instruments and views on it, and derived groups with
/// [`register`](super::register).
///
/// The `PeriodicReader` exports from a thread of its own, outside any async runtime: HTTP goes
/// through reqwest's blocking client (built here, whatever other HTTP client features are
/// enabled); gRPC (tonic) needs a multi-threaded Tokio runtime, so for gRPC call this inside
/// one that outlives the provider. Call [`SdkMeterProvider::shutdown`] before exiting: it
/// exports the last collection. From a Tokio worker, call it in `spawn_blocking`, as it
/// blocks until that export is done.
///
/// A disabled configuration (`enabled: false`) yields a provider without a reader, whose
/// instruments export nothing. The `file` section is not used: the SDK has no JSON file
/// exporter; keep [`create_exporter`](crate::create_exporter) for it.
///
/// # Errors
/// [`MetricsError::Config`] when the configuration is invalid or has no `otlp` section;
/// [`MetricsError::Otlp`] when the exporter cannot be built (gRPC outside a Tokio runtime).
pub fn meter_provider(config: &MetricsConfig) -> Result<SdkMeterProvider, MetricsError> {
    config.validate()?;
    let builder = SdkMeterProvider::builder().with_resource(resource(config));
    if !config.enabled {
        return Ok(builder.build());
    }
    let Some(otlp) = &config.otlp else {
        return Err(MetricsError::config(
            "otlp",
            Option::<()>::None,
            "an OpenTelemetry meter provider needs an OTLP endpoint",
        ));
    };
    let reader = PeriodicReader::builder(exporter(otlp)?)
        .with_interval(config.export_interval())
        .build();
    Ok(builder.with_reader(reader).build())
}

fn resource(config: &MetricsConfig) -> Resource {
    let namespace = config
        .service_namespace
        .clone()
        .map(|namespace| KeyValue::new("service.namespace", namespace));
    let attributes = config
        .resource_attributes
        .iter()
        .map(|(key, value)| KeyValue::new(key.clone(), value.clone()));
    Resource::builder_empty()
        .with_service_name(config.service_name.clone())
        .with_attributes(namespace)
        .with_attributes(attributes)
        .build()
}

/// The SDK's temporality preference for `otlp.temporality`; the SDK maps it per instrument
/// kind as the OTLP exporter does (`crate::config::Temporality`).
fn sdk_temporality(otlp: &OtlpConfig) -> Temporality {
    match otlp.temporality {
        crate::config::Temporality::Cumulative => Temporality::Cumulative,
        crate::config::Temporality::Delta => Temporality::Delta,
        crate::config::Temporality::LowMemory => Temporality::LowMemory,
    }
}

/// The SDK's OTLP exporter for `otlp`, with the configured temporality (cumulative unless
/// asked).
fn exporter(otlp: &OtlpConfig) -> Result<MetricExporter, MetricsError> {
    let url = otlp.export_url();
    if url.starts_with("https://") {
        return Err(MetricsError::config(
            "otlp.endpoint",
            &url,
            "the OpenTelemetry SDK bridge speaks plain `http://` only (the OTLP exporter of `create_exporter` has TLS)",
        ));
    }
    let built = match otlp.protocol {
        OtlpProtocol::Grpc => grpc(otlp, &url),
        OtlpProtocol::HttpBinary | OtlpProtocol::HttpJson => http(otlp, &url),
    };
    built.map_err(|message| MetricsError::Otlp {
        endpoint: url.clone(),
        protocol: otlp.protocol.as_str(),
        message,
    })
}

fn compression(otlp: &OtlpConfig) -> Option<Compression> {
    (otlp.compression == OtlpCompression::Gzip).then_some(Compression::Gzip)
}

fn grpc(otlp: &OtlpConfig, url: &str) -> Result<MetricExporter, String> {
    use opentelemetry_otlp::tonic_types::metadata::MetadataMap;

    if tokio::runtime::Handle::try_current().is_err() {
        return Err("the gRPC exporter must be created inside a Tokio runtime".to_owned());
    }
    let mut headers = http::HeaderMap::new();
    for (name, value) in &otlp.headers {
        // Validation admits only valid names and values; the message never shows a value.
        let name = http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid metadata name `{name}`"))?;
        let value = http::HeaderValue::from_str(value)
            .map_err(|_| format!("invalid value for metadata `{name}`"))?;
        headers.insert(name, value);
    }
    let mut builder = MetricExporter::builder()
        .with_tonic()
        .with_temporality(sdk_temporality(otlp))
        .with_endpoint(url)
        .with_timeout(otlp.timeout())
        .with_metadata(MetadataMap::from_headers(headers));
    if let Some(compression) = compression(otlp) {
        builder = builder.with_compression(compression);
    }
    builder.build().map_err(|e| e.to_string())
}

fn http(otlp: &OtlpConfig, url: &str) -> Result<MetricExporter, String> {
    let protocol = match otlp.protocol {
        OtlpProtocol::HttpJson => Protocol::HttpJson,
        _ => Protocol::HttpBinary,
    };
    let mut builder = MetricExporter::builder()
        .with_http()
        // Explicit: with both encodings compiled in, the SDK defaults to JSON.
        .with_protocol(protocol)
        // Explicit: with `reqwest-client` also enabled (feature unification), the SDK would
        // pick the async client, which panics on the reader's thread.
        .with_http_client(blocking_client(otlp.timeout())?)
        .with_temporality(sdk_temporality(otlp))
        .with_endpoint(url)
        .with_timeout(otlp.timeout())
        .with_headers(otlp.headers.clone());
    if let Some(compression) = compression(otlp) {
        builder = builder.with_compression(compression);
    }
    builder.build().map_err(|e| e.to_string())
}

/// reqwest's blocking client, built on a thread of its own: it starts a runtime, which
/// panics inside a Tokio worker. Redirects are not followed (headers carry secrets).
fn blocking_client(timeout: Duration) -> Result<reqwest::blocking::Client, String> {
    // With `otlp-http` also enabled, reqwest has rustls without a crypto provider: give it
    // a configuration on ring (trusting nothing: the bridge speaks plain HTTP only).
    #[cfg(feature = "otlp-http")]
    let tls = crate::export::plain_http_tls()?;
    std::thread::spawn(move || {
        let builder = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none());
        #[cfg(feature = "otlp-http")]
        let builder = builder.tls_backend_preconfigured(tls);
        builder.build()
    })
    .join()
    .map_err(|_| "building the blocking HTTP client panicked".to_owned())?
    .map_err(|e| format!("building the blocking HTTP client: {e}"))
}
