//! Building exporters from a [`MetricsConfig`].

use std::sync::Arc;
use std::time::Duration;

use super::{CompositeExporter, FileExporter, MetricsExporter};
use crate::config::MetricsConfig;
use crate::MetricsError;

/// Builds the exporters a configuration asks for: the file exporter, the OTLP exporter, or
/// a [`CompositeExporter`] of both. The configuration is validated first.
///
/// With both, each backend gets a deadline of its own: its timeout (`file.timeout_seconds`,
/// `otlp.timeout_seconds`) plus 10%. Both exporters already end themselves within their
/// timeouts; the composite's deadline is the backstop for one that hangs regardless.
///
/// A disabled configuration (`enabled: false`) yields a composite with no backends, whose
/// exports do nothing. A configuration with neither `file` nor `otlp` is an error. An OTLP
/// exporter must be built inside a Tokio runtime.
pub fn create_exporter(config: &MetricsConfig) -> Result<Arc<dyn MetricsExporter>, MetricsError> {
    config.validate()?;
    if !config.enabled {
        return Ok(Arc::new(CompositeExporter::new(Vec::new())));
    }
    let mut exporters: Vec<(Arc<dyn MetricsExporter>, Duration)> = Vec::new();
    if let Some(file) = &config.file {
        exporters.push((
            Arc::new(FileExporter::new(file.clone()).with_resource(config)),
            backstop(file.timeout()),
        ));
    }
    if let Some(otlp) = &config.otlp {
        exporters.push((otlp_exporter(config, otlp)?, backstop(otlp.timeout())));
    }
    if let Some(prometheus) = &config.prometheus {
        exporters.push((prometheus_exporter(prometheus)?, PROMETHEUS_DEADLINE));
    }
    match exporters.len() {
        0 => Err(MetricsError::config(
            "file, otlp, prometheus",
            "none is set",
            "configure at least one exporter (`file`, `otlp` or `prometheus`), or set `enabled` to false",
        )),
        1 => Ok(exporters.remove(0).0),
        _ => Ok(Arc::new(CompositeExporter::with_deadlines(exporters))),
    }
}

/// A composite's deadline for a backend that ends itself within `timeout` (the OTLP exporter
/// within its timeout plus 5%).
fn backstop(timeout: Duration) -> Duration {
    timeout.saturating_add(timeout / 10)
}

#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
fn otlp_exporter(
    config: &MetricsConfig,
    otlp: &crate::config::OtlpConfig,
) -> Result<Arc<dyn MetricsExporter>, MetricsError> {
    Ok(Arc::new(super::OtlpExporter::new(config, otlp)?))
}

#[cfg(not(any(feature = "otlp-grpc", feature = "otlp-http")))]
fn otlp_exporter(
    _config: &MetricsConfig,
    otlp: &crate::config::OtlpConfig,
) -> Result<Arc<dyn MetricsExporter>, MetricsError> {
    use crate::config::OtlpProtocol;
    let feature = match otlp.protocol {
        OtlpProtocol::Grpc => "otlp-grpc",
        OtlpProtocol::HttpBinary | OtlpProtocol::HttpJson => "otlp-http",
    };
    Err(MetricsError::FeatureDisabled {
        protocol: otlp.protocol.as_str(),
        feature,
    })
}

/// A Prometheus export only renders the snapshot in memory.
const PROMETHEUS_DEADLINE: Duration = Duration::from_secs(10);

#[cfg(feature = "prometheus")]
fn prometheus_exporter(
    prometheus: &crate::config::PrometheusConfig,
) -> Result<Arc<dyn MetricsExporter>, MetricsError> {
    Ok(Arc::new(super::PrometheusExporter::new(prometheus)?))
}

#[cfg(not(feature = "prometheus"))]
fn prometheus_exporter(
    prometheus: &crate::config::PrometheusConfig,
) -> Result<Arc<dyn MetricsExporter>, MetricsError> {
    Err(MetricsError::config(
        "prometheus",
        &prometheus.listen,
        "the Prometheus endpoint is not compiled in: enable the cargo feature `prometheus` of metrics-core",
    ))
}
