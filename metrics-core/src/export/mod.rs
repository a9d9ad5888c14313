//! Exporters: the [`MetricsExporter`] trait and its backends.
//!
//! Every exporter takes any derived group as `&dyn DynMetricsGroup` (a `&MySnapshot` converts
//! implicitly) and returns what really happened: an `Ok` means the data reached the backend.

use std::fmt;

use crate::{DynMetricsGroup, MetricsError};

mod composite;
mod factory;
mod file;
mod lines;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
mod otlp;
mod process;
#[cfg(feature = "prometheus")]
mod prometheus;

/// The attribute [`MetricsExporter`] impls are written with, re-exported so that an
/// implementation outside this crate needs no dependency of its own.
pub use async_trait::async_trait;
pub use composite::CompositeExporter;
pub use factory::create_exporter;
pub use file::FileExporter;
#[cfg(all(feature = "otlp-http", feature = "otel-sdk"))]
pub(crate) use otlp::plain_http_tls;
#[cfg(any(feature = "otlp-grpc", feature = "otlp-http"))]
pub use otlp::{OtlpEncoding, OtlpExporter, SpoolStatus, MAX_RESEND_BYTES, MAX_RESEND_ENTRIES};
#[cfg(feature = "prometheus")]
pub use prometheus::PrometheusExporter;

/// A metrics backend.
#[async_trait]
pub trait MetricsExporter: Send + Sync + fmt::Debug {
    /// A short name for errors and logs, e.g. `file /var/lib/app/metrics.json`.
    fn name(&self) -> &str;

    /// Sends one snapshot of `group` to the backend.
    async fn export(&self, group: &dyn DynMetricsGroup) -> Result<(), MetricsError>;

    /// Flushes and releases resources; later exports fail with [`MetricsError::ShutDown`].
    async fn shutdown(&self) -> Result<(), MetricsError>;
}
