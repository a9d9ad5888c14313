//! Fan-out to several backends.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::join_all;

use super::MetricsExporter;
use crate::{DynMetricsGroup, MetricsError};

/// Exports to every backend concurrently. `Ok` only when all succeeded; otherwise one
/// [`MetricsError::Backends`] naming every failed backend with its error. A failing backend
/// never keeps the others from exporting, and a hanging one never holds up the answer: each
/// backend's export and shutdown get at most the composite's timeout, after which that
/// backend counts as failed with [`MetricsError::Timeout`].
#[derive(Debug, Clone)]
pub struct CompositeExporter {
    name: String,
    exporters: Vec<Arc<dyn MetricsExporter>>,
    timeout: Duration,
}

impl CompositeExporter {
    /// How long each backend may take when no other timeout is set.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// A composite of `exporters` (possibly none: then every export is a successful no-op),
    /// giving each backend [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT).
    pub fn new(exporters: Vec<Arc<dyn MetricsExporter>>) -> Self {
        let names: Vec<&str> = exporters.iter().map(|e| e.name()).collect();
        CompositeExporter {
            name: format!("composite [{}]", names.join(", ")),
            exporters,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// Gives each backend at most `timeout` per export and per shutdown. Make it longer than
    /// the backends' own timeouts, so that it only ends a backend that hangs.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The backends.
    pub fn exporters(&self) -> &[Arc<dyn MetricsExporter>] {
        &self.exporters
    }

    /// Runs one backend's `call` within the timeout.
    async fn bounded(
        &self,
        exporter: &dyn MetricsExporter,
        call: impl Future<Output = Result<(), MetricsError>>,
    ) -> Result<(), MetricsError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| {
                Err(MetricsError::Timeout {
                    backend: exporter.name().to_owned(),
                    timeout: self.timeout,
                })
            })
    }

    fn collect(&self, results: Vec<Result<(), MetricsError>>) -> Result<(), MetricsError> {
        let failures: Vec<(String, MetricsError)> = self
            .exporters
            .iter()
            .zip(results)
            .filter_map(|(exporter, result)| {
                result
                    .err()
                    .map(|error| (exporter.name().to_owned(), error))
            })
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(MetricsError::Backends {
                failures,
                total: self.exporters.len(),
            })
        }
    }
}

#[async_trait]
impl MetricsExporter for CompositeExporter {
    fn name(&self) -> &str {
        &self.name
    }

    async fn export(&self, group: &dyn DynMetricsGroup) -> Result<(), MetricsError> {
        let results = join_all(
            self.exporters
                .iter()
                .map(|exporter| self.bounded(&**exporter, exporter.export(group))),
        )
        .await;
        self.collect(results)
    }

    async fn shutdown(&self) -> Result<(), MetricsError> {
        let results = join_all(
            self.exporters
                .iter()
                .map(|exporter| self.bounded(&**exporter, exporter.shutdown())),
        )
        .await;
        self.collect(results)
    }
}
