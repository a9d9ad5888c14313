//! Fan-out to several backends.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::join_all;

use super::MetricsExporter;
use crate::{DynMetricsGroup, MetricsError};

/// Exports to every backend concurrently (on the calling task, so the composite takes as long
/// as its slowest backend, not their sum). `Ok` only when all succeeded; otherwise one
/// [`MetricsError::Backends`] naming every failed backend with its error. A failing backend
/// never keeps the others from exporting, and a hanging one never holds up the answer: each
/// backend's export and shutdown get at most that backend's deadline, after which it counts as
/// failed with [`MetricsError::Timeout`].
#[derive(Debug, Clone)]
pub struct CompositeExporter {
    name: String,
    exporters: Vec<Arc<dyn MetricsExporter>>,
    /// Each backend's deadline, in the order of `exporters`.
    deadlines: Vec<Duration>,
}

impl CompositeExporter {
    /// How long each backend may take when no other timeout is set.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// A composite of `exporters` (possibly none: then every export is a successful no-op),
    /// giving each backend [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT).
    pub fn new(exporters: Vec<Arc<dyn MetricsExporter>>) -> Self {
        Self::with_deadlines(
            exporters
                .into_iter()
                .map(|exporter| (exporter, Self::DEFAULT_TIMEOUT))
                .collect(),
        )
    }

    /// A composite of `backends`, each with its own deadline per export and per shutdown.
    /// Make each longer than that backend's own timeout, so that it only ends one that hangs.
    pub fn with_deadlines(backends: Vec<(Arc<dyn MetricsExporter>, Duration)>) -> Self {
        let (exporters, deadlines): (Vec<_>, Vec<_>) = backends.into_iter().unzip();
        let names: Vec<&str> = exporters.iter().map(|e| e.name()).collect();
        CompositeExporter {
            name: format!("composite [{}]", names.join(", ")),
            exporters,
            deadlines,
        }
    }

    /// Gives every backend at most `timeout` per export and per shutdown. Make it longer than
    /// the backends' own timeouts, so that it only ends a backend that hangs.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.deadlines.fill(timeout);
        self
    }

    /// The backends.
    pub fn exporters(&self) -> &[Arc<dyn MetricsExporter>] {
        &self.exporters
    }

    /// Each backend's deadline, in the order of [`exporters`](Self::exporters).
    pub fn deadlines(&self) -> &[Duration] {
        &self.deadlines
    }

    /// Runs `call` on every backend at once, each within its deadline.
    async fn on_all<'a, F>(
        &'a self,
        call: impl Fn(&'a dyn MetricsExporter) -> F,
    ) -> Result<(), MetricsError>
    where
        F: Future<Output = Result<(), MetricsError>>,
    {
        let bounded = self
            .exporters
            .iter()
            .zip(&self.deadlines)
            .map(|(exporter, &deadline)| {
                let call = call(&**exporter);
                async move {
                    tokio::time::timeout(deadline, call)
                        .await
                        .unwrap_or_else(|_| {
                            Err(MetricsError::Timeout {
                                backend: exporter.name().to_owned(),
                                timeout: deadline,
                            })
                        })
                }
            });
        self.collect(join_all(bounded).await)
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
        self.on_all(|exporter| exporter.export(group)).await
    }

    async fn shutdown(&self) -> Result<(), MetricsError> {
        self.on_all(|exporter| exporter.shutdown()).await
    }
}
