//! The scheduler's metrics: five snapshot structs, annotated.
//!
//! Each field says once what it is (kind, unit, description); names, OTLP instruments and
//! JSON follow from the derive.

use std::collections::HashMap;

use metrics_core::{HistogramSnapshot, LabelMap, LabelSet, LabelValue, MetricsGroup};
use serde::{Deserialize, Serialize};

/// Point-in-time snapshot of all scheduler metrics.
#[derive(Debug, Clone, PartialEq, MetricsGroup, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// Unix timestamp (seconds) when the snapshot was taken: in the JSON, and the time of
    /// every OTLP point; not a metric.
    #[metric(timestamp, unit = "s")]
    pub timestamp: u64,
    /// Scheduler-level metrics.
    pub scheduler: SchedulerMetrics,
    /// Task manager metrics.
    pub task_manager: TaskManagerMetrics,
    /// Load balancer metrics.
    pub load_balancer: LoadBalancerMetrics,
    /// System resource metrics.
    pub system: SystemResourceMetrics,
    /// Context compaction metrics, when compaction is enabled.
    pub compaction: Option<CompactionMetrics>,
}

/// Scheduler-level counters and gauges.
#[derive(Debug, Clone, PartialEq, MetricsGroup, Serialize, Deserialize)]
pub struct SchedulerMetrics {
    /// Total number of agents scheduled since start.
    #[metric(counter, unit = "{agent}")]
    pub total_scheduled: usize,
    /// Time since the scheduler started.
    #[metric(counter, unit = "s")]
    pub uptime_seconds: u64,
    /// Agents currently running.
    #[metric(unit = "{agent}")]
    pub running_agents: usize,
    /// Agents waiting in the queue.
    #[metric(unit = "{agent}")]
    pub queued_agents: usize,
    /// Agents currently suspended.
    #[metric(unit = "{agent}")]
    pub suspended_agents: usize,
    /// Maximum number of agents the scheduler admits.
    #[metric(unit = "{agent}")]
    pub max_capacity: usize,
    /// Running agents as a fraction of capacity (0.0-1.0).
    #[metric(unit = "1")]
    pub load_factor: f64,
    /// Agents that finished since start, by queue and outcome.
    #[metric(counter, unit = "{agent}")]
    pub agents_finished: LabelMap<Finished, u64>,
}

/// What a finished agent's point says: attributes `queue` and `outcome`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, LabelSet, Serialize, Deserialize,
)]
pub struct Finished {
    /// The queue the agent was scheduled from.
    pub queue: Queue,
    /// How its run ended.
    pub outcome: Outcome,
}

/// A scheduling queue (attribute values `interactive`, `batch`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, LabelValue, Serialize, Deserialize,
)]
pub enum Queue {
    Interactive,
    Batch,
}

/// How an agent's run ended (attribute values `completed`, `failed`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, LabelValue, Serialize, Deserialize,
)]
pub enum Outcome {
    Completed,
    Failed,
}

/// Task manager statistics.
#[derive(Debug, Clone, PartialEq, MetricsGroup, Serialize, Deserialize)]
pub struct TaskManagerMetrics {
    /// Tasks currently managed.
    #[metric(unit = "{task}")]
    pub total_tasks: usize,
    /// Managed tasks that pass their health check.
    #[metric(unit = "{task}")]
    pub healthy_tasks: usize,
    /// Mean uptime of the managed tasks.
    #[metric(unit = "s")]
    pub average_uptime_seconds: f64,
    /// Memory used by all managed tasks.
    #[metric(unit = "By")]
    pub total_memory_usage: usize,
}

/// Load balancer statistics.
#[derive(Debug, Clone, PartialEq, MetricsGroup, Serialize, Deserialize)]
pub struct LoadBalancerMetrics {
    /// Resource allocations made since start.
    #[metric(counter, unit = "{allocation}")]
    pub total_allocations: usize,
    /// Allocations currently held.
    #[metric(unit = "{allocation}")]
    pub active_allocations: usize,
    /// Fraction of the memory pool allocated (0.0-1.0).
    #[metric(unit = "1")]
    pub memory_utilization: f64,
    /// Fraction of the CPU pool allocated (0.0-1.0).
    #[metric(unit = "1")]
    pub cpu_utilization: f64,
    /// Allocation requests refused since start.
    #[metric(counter, unit = "{allocation}")]
    pub allocation_failures: usize,
    /// Mean time to serve an allocation request.
    #[metric(unit = "ms")]
    pub average_allocation_time_ms: f64,
    /// Time to serve an allocation request, recorded at each request.
    #[metric(
        unit = "s",
        buckets = [0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.003, 0.004, 0.005, 0.01]
    )]
    pub allocation_time: HistogramSnapshot,
}

/// System resource usage.
#[derive(Debug, Clone, PartialEq, MetricsGroup, Serialize, Deserialize)]
pub struct SystemResourceMetrics {
    /// Resident memory of the process.
    #[metric(unit = "MiBy")]
    pub memory_usage_mb: f64,
    /// CPU time used by the process, as a percentage of one core.
    #[metric(unit = "%")]
    pub cpu_usage_percent: f64,
}

/// Compaction pipeline metrics.
#[derive(Debug, Clone, Default, PartialEq, MetricsGroup, Serialize, Deserialize)]
pub struct CompactionMetrics {
    /// Total number of compaction runs.
    #[metric(counter, unit = "{compaction}")]
    pub total_compactions: u64,
    /// Cumulative tokens reclaimed.
    #[metric(counter, unit = "{token}")]
    pub total_tokens_saved: u64,
    /// Compactions by tier.
    #[metric(counter, unit = "{compaction}", label = "tier")]
    pub compactions_by_tier: HashMap<String, u64>,
    /// Current context utilization ratio (0.0-1.0), if known.
    #[metric(unit = "1")]
    pub context_utilization_ratio: Option<f64>,
}

/// The example's metrics catalog as committed in `docs/METRICS.md`.
pub fn catalog_document() -> String {
    format!(
        "# Metrics of the example scheduler\n\n\
         Every metric `MetricsSnapshot` exports, generated from its static schema by\n\
         `cargo run --example scheduler -- --catalog` (a test fails when this file is out of date).\n\
         Names are OTLP instrument names; the JSON file nests the same values by field.\n\n{}",
        metrics_core::catalog::markdown::<MetricsSnapshot>()
    )
}
