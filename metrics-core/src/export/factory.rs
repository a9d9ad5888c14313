//! Building exporters from a [`MetricsConfig`].

use std::sync::Arc;

use super::{CompositeExporter, FileExporter, MetricsExporter};
use crate::config::MetricsConfig;
use crate::MetricsError;

/// Builds the exporters a configuration asks for: the file exporter, the OTLP exporter, or
/// a [`CompositeExporter`] of both. The configuration is validated first.
///
/// With both, each backend gets at most the OTLP timeout plus 10% per export, so that a hanging
/// file write cannot hold up the answer.
///
/// A disabled configuration (`enabled: false`) yields a composite with no backends, whose
/// exports do nothing. A configuration with neither `file` nor `otlp` is an error. An OTLP
/// exporter must be built inside a Tokio runtime.
pub fn create_exporter(config: &MetricsConfig) -> Result<Arc<dyn MetricsExporter>, MetricsError> {
    config.validate()?;
    if !config.enabled {
        return Ok(Arc::new(CompositeExporter::new(Vec::new())));
    }
    let mut exporters: Vec<Arc<dyn MetricsExporter>> = Vec::new();
    if let Some(file) = &config.file {
        exporters.push(Arc::new(FileExporter::new(file.clone())));
    }
    if let Some(otlp) = &config.otlp {
        exporters.push(otlp_exporter(config, otlp)?);
    }
    match exporters.len() {
        0 => Err(MetricsError::config(
            "file, otlp",
            "neither is set",
            "configure at least one exporter (`file` or `otlp`), or set `enabled` to false",
        )),
        1 => Ok(exporters.remove(0)),
        // The OTLP exporter ends itself within its timeout plus 5%: the composite's deadline
        // only ends a file write that hangs (a dead network file system, say).
        _ => {
            let timeout = config
                .otlp
                .as_ref()
                .map_or(CompositeExporter::DEFAULT_TIMEOUT, |otlp| {
                    otlp.timeout().mul_f64(1.1)
                });
            Ok(Arc::new(
                CompositeExporter::new(exporters).with_timeout(timeout),
            ))
        }
    }
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
