//! Describe a service's metrics once, as a plain struct, and export them everywhere.
//!
//! `#[derive(MetricsGroup)]` turns a snapshot struct into a metrics group: a static schema
//! (names, kinds, units, descriptions, labels) built at compile time, a visitor over its
//! values, and a JSON writer byte-identical to serde_json's.
//!
//! Cargo features: `export` (default) adds the configuration (`config`), the exporters
//! (`export`) and the reporter, on tokio and tracing; `otlp-grpc` and `otlp-http` add the
//! OTLP transports. With `default-features = false` the crate is the derive, the schema,
//! the value types, the JSON writer and the catalog, on serde and serde_json alone.
//!
//! ```
//! use metrics_core::{schema::MetricKind, MetricsGroup};
//! use std::collections::HashMap;
//!
//! /// Scheduler-level counters and gauges.
//! #[derive(MetricsGroup)]
//! pub struct SchedulerMetrics {
//!     /// Total number of scheduled agents.
//!     #[metric(counter)]
//!     pub total_scheduled: usize,
//!     /// Number of currently running agents.
//!     pub running_agents: usize,
//! }
//!
//! #[derive(MetricsGroup)]
//! pub struct Snapshot {
//!     #[metric(skip)]
//!     pub timestamp: u64,
//!     pub scheduler: SchedulerMetrics,
//!     /// Compactions by tier.
//!     #[metric(counter, label = "tier")]
//!     pub compactions_by_tier: HashMap<String, u64>,
//! }
//!
//! let names: Vec<String> = Snapshot::SCHEMA.metrics().map(|m| m.name).collect();
//! assert_eq!(
//!     names,
//!     ["scheduler.total_scheduled", "scheduler.running_agents", "compactions_by_tier"]
//! );
//! let first = Snapshot::SCHEMA.metrics().next().unwrap();
//! assert_eq!(first.descriptor.kind, MetricKind::Counter);
//! assert_eq!(first.descriptor.description, "Total number of scheduled agents.");
//! ```

pub mod catalog;
#[cfg(feature = "export")]
pub mod config;
#[cfg(feature = "export")]
mod error;
#[cfg(feature = "export")]
pub mod export;
pub mod family;
mod field;
mod group;
mod histogram;
pub mod json;
pub mod labels;
#[cfg(feature = "otel-sdk")]
pub mod otel;
pub mod otlp;
mod point;
pub mod prometheus;
#[cfg(feature = "export")]
mod reporter;
pub mod schema;
mod time;
mod value;

#[doc(hidden)]
pub mod __private;

#[cfg(feature = "export")]
pub use config::MetricsConfig;
#[cfg(feature = "export")]
pub use error::MetricsError;
#[cfg(feature = "export")]
pub use export::{create_exporter, MetricsExporter};
pub use family::{Counter, Family};
pub use field::SkippedField;
pub use group::{DynMetricsGroup, MetricsGroup, Number, Visitor};
pub use histogram::{
    ExponentialHistogram, ExponentialHistogramSnapshot, Histogram, HistogramSnapshot,
    MAX_EXPONENTIAL_BUCKETS,
};
pub use labels::{LabelMap, LabelSet, LabelValue, ToLabelValue};
/// Why bucket bounds were refused ([`Histogram::with_bounds`]).
pub use metrics_rules::BucketsProblem;
pub use point::{ExponentialBuckets, ExponentialHistogramPoint, HistogramPoint, PointValue};
#[cfg(feature = "export")]
pub use reporter::{ExportReport, Reporter, ReporterBuilder};
pub use time::{PointTimes, TimeField};
pub use value::MetricValue;

/// Derives [`LabelSet`] for a struct whose fields are label values: a map key whose points
/// carry one attribute per field, keyed by the field name (`#[label(rename = "...")]`).
pub use metrics_derive::LabelSet;
/// Derives [`ToLabelValue`] and [`LabelSet`] for a unit-only enum: the variant's name in
/// snake_case (`#[label(rename = "...")]`) is the attribute value. A map keyed by it is
/// written to JSON through the enum's `serde::Serialize`, as serde_json writes it.
pub use metrics_derive::LabelValue;
/// Derives [`MetricsGroup`] for a struct with named fields; see the crate documentation.
pub use metrics_derive::MetricsGroup;
