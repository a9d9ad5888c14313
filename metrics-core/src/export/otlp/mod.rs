//! The OTLP exporter: gRPC, HTTP/protobuf and HTTP/JSON, on opentelemetry-rust.
//!
//! Each group type gets its own SDK pipeline (see `pipeline.rs`), built from its static
//! schema at its first export. An export loads the snapshot's values, collects them through
//! a manual reader and sends them at once: the result is the collector's answer, not a log
//! line from a background thread.

mod pipeline;
mod transport;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use opentelemetry::KeyValue;
use opentelemetry_otlp::MetricExporter;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::Resource;
use tokio::sync::Mutex;

use self::pipeline::Pipeline;
use super::MetricsExporter;
use crate::config::{MetricsConfig, OtlpConfig, OtlpProtocol, RedactedHeaders};
use crate::{DynMetricsGroup, MetricsError};

/// How much later than the configured timeout an export is abandoned if the SDK's own
/// deadline has not ended it: at most this, and at most 2.5% of the timeout.
///
/// The SDK's deadline only decides whether to start another retry: a retry started just
/// before it runs for a whole request timeout of its own. The grace lets the SDK's own,
/// more specific error win when it comes on time. It is half of what README promises
/// (5%, 250 ms at most): the other half is for waking the abandoned export's task and
/// returning on a loaded machine.
const DEADLINE_GRACE: Duration = Duration::from_millis(125);

/// How long an export configured with `timeout` may run before it is abandoned.
fn deadline(timeout: Duration) -> Duration {
    timeout.saturating_add(DEADLINE_GRACE.min(timeout / 40))
}

/// Exports any group over OTLP.
///
/// Counters are monotonic cumulative Sums, up-down counters non-monotonic cumulative Sums,
/// gauges Gauges, with the schema's units, descriptions and label attributes. Map fields
/// export every entry (the SDK's cardinality limit is raised as maps grow). Values OTLP
/// cannot carry: NaN and infinities are left out and logged as a warning naming the metric;
/// unsigned integers above `i64::MAX` are sent as `i64::MAX`.
pub struct OtlpExporter {
    name: String,
    url: String,
    protocol: OtlpProtocol,
    header_names: Vec<String>,
    timeout: Duration,
    resource: Resource,
    sdk: MetricExporter,
    /// Per group type; held across an export so that exports do not interleave.
    pipelines: Mutex<Vec<Pipeline>>,
    shut_down: AtomicBool,
}

impl fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.header_names.iter().map(String::as_str).collect();
        f.debug_struct("OtlpExporter")
            .field("url", &self.url)
            .field("protocol", &self.protocol)
            .field("headers", &RedactedHeaders(&names))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OtlpExporter {
    /// An exporter for `otlp`, with the resource attributes of `config` (`service.name`,
    /// `service.namespace` if set, and `resource_attributes`). For gRPC, call it inside the Tokio
    /// runtime that will run the exports.
    pub fn new(config: &MetricsConfig, otlp: &OtlpConfig) -> Result<Self, MetricsError> {
        let resource = Resource::builder_empty()
            .with_service_name(config.service_name.clone())
            .with_attributes(
                config
                    .service_namespace
                    .clone()
                    .map(|namespace| KeyValue::new("service.namespace", namespace)),
            )
            .with_attributes(
                config
                    .resource_attributes
                    .iter()
                    .map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
            )
            .build();
        let mut header_names: Vec<String> = otlp.headers.keys().cloned().collect();
        header_names.sort_unstable();
        let url = otlp.export_url();
        Ok(OtlpExporter {
            name: format!("otlp {} {url}", otlp.protocol),
            sdk: transport::build(otlp)?,
            url,
            protocol: otlp.protocol,
            header_names,
            timeout: otlp.timeout(),
            resource,
            pipelines: Mutex::new(Vec::new()),
            shut_down: AtomicBool::new(false),
        })
    }

    /// The pipeline of `group`'s type, loaded with its points, and the names of the metrics
    /// whose non-finite values were left out. A map that outgrew its instrument's cardinality
    /// limit gets the pipeline rebuilt with room to spare, rather than the SDK folding its
    /// entries into an overflow point.
    fn load<'p>(
        &self,
        pipelines: &'p mut Vec<Pipeline>,
        group: &dyn DynMetricsGroup,
    ) -> (&'p mut Pipeline, Vec<String>) {
        let schema = group.schema();
        let index = match pipelines
            .iter()
            .position(|p| std::ptr::eq(p.schema, schema))
        {
            Some(index) => index,
            None => {
                let limits = Pipeline::default_limits(schema);
                pipelines.push(Pipeline::new(schema, self.resource.clone(), limits));
                pipelines.len() - 1
            }
        };
        let non_finite = pipelines[index].load(group);
        let Some(limits) = pipelines[index].limits_for_load() else {
            return (&mut pipelines[index], non_finite);
        };
        pipelines[index].shutdown();
        pipelines[index] = Pipeline::new(schema, self.resource.clone(), limits);
        let non_finite = pipelines[index].load(group);
        (&mut pipelines[index], non_finite)
    }

    fn error(&self, message: impl Into<String>) -> MetricsError {
        MetricsError::Otlp {
            endpoint: self.url.clone(),
            protocol: self.protocol.as_str(),
            message: message.into(),
        }
    }

    /// The collect stage of [`export`](MetricsExporter::export) without the transport: the
    /// group's points loaded into its pipeline (built or rebuilt as an export would) and
    /// collected into the `ResourceMetrics` the transport would encode and send, which `f`
    /// gets to see.
    ///
    /// Not part of the public API: it exists so that `benches/otlp_collect.rs` measures what
    /// an export does before it sends. Fails while an export is running.
    #[doc(hidden)]
    pub fn collect_without_sending<R>(
        &self,
        group: &dyn DynMetricsGroup,
        f: impl FnOnce(&opentelemetry_sdk::metrics::data::ResourceMetrics) -> R,
    ) -> Result<R, MetricsError> {
        let mut pipelines = self
            .pipelines
            .try_lock()
            .map_err(|_| self.error("an export is running"))?;
        let (pipeline, _) = self.load(&mut pipelines, group);
        let metrics = pipeline
            .collect()
            .map_err(|e| self.error(format!("collecting metrics failed: {e}")))?;
        Ok(f(metrics))
    }
}

#[async_trait]
impl MetricsExporter for OtlpExporter {
    fn name(&self) -> &str {
        &self.name
    }

    async fn export(&self, group: &dyn DynMetricsGroup) -> Result<(), MetricsError> {
        let mut pipelines = self.pipelines.lock().await;
        if self.shut_down.load(Ordering::Acquire) {
            return Err(MetricsError::ShutDown {
                backend: self.name.clone(),
            });
        }
        let (pipeline, non_finite) = self.load(&mut pipelines, group);
        // A warning when the set of such metrics changes; a gauge that stays NaN must not
        // flood the log at every tick, so repeats are debug lines.
        if non_finite != pipeline.left_out {
            if !non_finite.is_empty() {
                tracing::warn!(
                    backend = %self.name,
                    metrics = ?non_finite,
                    "NaN or infinite values left out of the OTLP export: OTLP cannot carry them"
                );
            }
            pipeline.left_out = non_finite;
        } else if !non_finite.is_empty() {
            tracing::debug!(backend = %self.name, metrics = ?non_finite, "NaN or infinite values left out again");
        }
        let metrics = pipeline
            .collect()
            .map_err(|e| self.error(format!("collecting metrics failed: {e}")))?;
        match tokio::time::timeout(deadline(self.timeout), self.sdk.export(metrics)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(self.error(error.to_string())),
            Err(_) => Err(MetricsError::Timeout {
                backend: self.name.clone(),
                timeout: self.timeout,
            }),
        }
    }

    async fn shutdown(&self) -> Result<(), MetricsError> {
        let pipelines = self.pipelines.lock().await;
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        for pipeline in pipelines.iter() {
            pipeline.shutdown();
        }
        self.sdk
            .shutdown_with_timeout(self.timeout)
            .map_err(|e| self.error(format!("shutdown failed: {e}")))
    }
}
