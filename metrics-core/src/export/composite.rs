//! Fan-out to several backends.

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::future::join_all;

use super::MetricsExporter;
use crate::{DynMetricsGroup, MetricsError};

/// Exports to every backend concurrently. `Ok` only when all succeeded; otherwise one
/// [`MetricsError::Backends`] naming every failed backend with its error. A failing backend
/// never keeps the others from exporting.
#[derive(Debug, Clone)]
pub struct CompositeExporter {
    name: String,
    exporters: Vec<Arc<dyn MetricsExporter>>,
}

impl CompositeExporter {
    /// A composite of `exporters` (possibly none: then every export is a successful no-op).
    pub fn new(exporters: Vec<Arc<dyn MetricsExporter>>) -> Self {
        let names: Vec<&str> = exporters.iter().map(|e| e.name()).collect();
        CompositeExporter {
            name: format!("composite [{}]", names.join(", ")),
            exporters,
        }
    }

    /// The backends.
    pub fn exporters(&self) -> &[Arc<dyn MetricsExporter>] {
        &self.exporters
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
        let results = join_all(self.exporters.iter().map(|exporter| exporter.export(group))).await;
        self.collect(results)
    }

    async fn shutdown(&self) -> Result<(), MetricsError> {
        let results = join_all(self.exporters.iter().map(|exporter| exporter.shutdown())).await;
        self.collect(results)
    }
}
