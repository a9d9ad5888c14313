//! The reference snapshot declared as measured's and prometheus-client's users would declare
//! it: the same metrics (names as our encoder maps them, HELP, types, labels, the histogram's
//! bounds), set to the same values, so that the three encoders write the same samples.

use measured::metric::histogram::Thresholds;
use measured::{
    Counter, CounterVec, FixedCardinalityLabel, FloatGauge, Gauge, Histogram, LabelGroup,
    MetricGroup,
};
use metrics_core::{Histogram as OurHistogram, LabelMap};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter as ClientCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge as ClientGauge;
use prometheus_client::metrics::histogram::Histogram as ClientHistogram;
use prometheus_client::registry::Registry;

use crate::support::snapshot::{Finished, LoadBalancerMetrics, MetricsSnapshot, Outcome, Queue};

/// `load_balancer.allocation_time`'s bounds, as the derive declares them.
const BOUNDS: &[f64] = LoadBalancerMetrics::ALLOCATION_TIME_BUCKETS;

/// The reference snapshot with its labeled counter and histogram filled: four
/// `agents_finished` series and 50 allocation times spread over every bucket.
pub fn snapshot() -> MetricsSnapshot {
    let mut snapshot = crate::support::reference_snapshot();
    snapshot.scheduler.agents_finished = LabelMap::from(FINISHED.map(|(queue, outcome, n)| {
        let queue = if queue == "interactive" {
            Queue::Interactive
        } else {
            Queue::Batch
        };
        let outcome = if outcome == "completed" {
            Outcome::Completed
        } else {
            Outcome::Failed
        };
        (Finished { queue, outcome }, n)
    }));
    let histogram = OurHistogram::with_bounds(BOUNDS).expect("the derive's bounds");
    for value in allocation_times() {
        histogram.record(value);
    }
    snapshot.load_balancer.allocation_time = histogram.snapshot();
    snapshot
}

/// `agents_finished`: queue, outcome, count.
const FINISHED: [(&str, &str, u64); 4] = [
    ("interactive", "completed", 3_100),
    ("interactive", "failed", 12),
    ("batch", "completed", 1_050),
    ("batch", "failed", 7),
];

/// 50 allocation times from 0.1 ms to 12.35 ms: every bucket and the overflow get some.
fn allocation_times() -> impl Iterator<Item = f64> {
    (0..50).map(|i| 0.0001 + f64::from(i) * 0.00025)
}

#[derive(MetricGroup)]
#[metric(new())]
pub struct MeasuredReference {
    #[metric(namespace = "scheduler")]
    #[metric(init = MeasuredScheduler::new())]
    scheduler: MeasuredScheduler,
    #[metric(namespace = "task_manager")]
    task_manager: MeasuredTaskManager,
    #[metric(namespace = "load_balancer")]
    #[metric(init = MeasuredLoadBalancer::new())]
    load_balancer: MeasuredLoadBalancer,
    #[metric(namespace = "system")]
    system: MeasuredSystem,
    #[metric(namespace = "compaction")]
    #[metric(init = MeasuredCompaction::new())]
    compaction: MeasuredCompaction,
}

#[derive(MetricGroup)]
#[metric(new())]
struct MeasuredScheduler {
    /// Total number of agents scheduled since start.
    total_scheduled_total: Counter,
    /// Time since the scheduler started.
    uptime_seconds_total: Counter,
    /// Agents currently running.
    running_agents: Gauge,
    /// Agents waiting in the queue.
    queued_agents: Gauge,
    /// Agents currently suspended.
    suspended_agents: Gauge,
    /// Maximum number of agents the scheduler admits.
    max_capacity: Gauge,
    /// Running agents as a fraction of capacity (0.0-1.0).
    load_factor_ratio: FloatGauge,
    /// Agents that finished since start, by queue and outcome.
    agents_finished_total: CounterVec<MeasuredFinishedSet>,
}

#[derive(Clone, Copy, PartialEq, Debug, LabelGroup)]
#[label(set = MeasuredFinishedSet)]
struct MeasuredFinished {
    queue: MeasuredQueue,
    outcome: MeasuredOutcome,
}

#[derive(Clone, Copy, PartialEq, Debug, FixedCardinalityLabel)]
#[label(rename_all = "snake_case")]
enum MeasuredQueue {
    Interactive,
    Batch,
}

#[derive(Clone, Copy, PartialEq, Debug, FixedCardinalityLabel)]
#[label(rename_all = "snake_case")]
enum MeasuredOutcome {
    Completed,
    Failed,
}

#[derive(MetricGroup, Default)]
struct MeasuredTaskManager {
    /// Tasks currently managed.
    total_tasks: Gauge,
    /// Managed tasks that pass their health check.
    healthy_tasks: Gauge,
    /// Mean uptime of the managed tasks.
    average_uptime_seconds: FloatGauge,
    /// Memory used by all managed tasks.
    total_memory_usage_bytes: Gauge,
}

#[derive(MetricGroup)]
#[metric(new())]
struct MeasuredLoadBalancer {
    /// Resource allocations made since start.
    total_allocations_total: Counter,
    /// Allocations currently held.
    active_allocations: Gauge,
    /// Fraction of the memory pool allocated (0.0-1.0).
    memory_utilization_ratio: FloatGauge,
    /// Fraction of the CPU pool allocated (0.0-1.0).
    cpu_utilization_ratio: FloatGauge,
    /// Allocation requests refused since start.
    allocation_failures_total: Counter,
    /// Mean time to serve an allocation request.
    average_allocation_time_ms_milliseconds: FloatGauge,
    /// Time to serve an allocation request, recorded at each request.
    #[metric(metadata = Thresholds::with_buckets(bounds()))]
    allocation_time_seconds: Histogram<9>,
}

/// [`BOUNDS`] as measured's fixed-size array.
fn bounds() -> [f64; 9] {
    BOUNDS.try_into().expect("nine bounds")
}

#[derive(MetricGroup, Default)]
struct MeasuredSystem {
    /// Resident memory of the process.
    memory_usage_mb_mebibytes: FloatGauge,
    /// CPU time used by the process, as a percentage of one core.
    cpu_usage_percent: FloatGauge,
}

#[derive(MetricGroup)]
#[metric(new())]
struct MeasuredCompaction {
    /// Total number of compaction runs.
    total_compactions_total: Counter,
    /// Cumulative tokens reclaimed.
    total_tokens_saved_total: Counter,
    /// Compactions by tier.
    compactions_by_tier_total: CounterVec<MeasuredTierSet>,
    /// Current context utilization ratio (0.0-1.0), if known.
    context_utilization_ratio: FloatGauge,
}

#[derive(Clone, Copy, PartialEq, Debug, LabelGroup)]
#[label(set = MeasuredTierSet)]
struct MeasuredTier {
    tier: MeasuredTierValue,
}

#[derive(Clone, Copy, PartialEq, Debug, FixedCardinalityLabel)]
#[label(rename_all = "snake_case")]
enum MeasuredTierValue {
    Deep,
    Full,
    Light,
}

/// `value as i64` for the integer gauges measured keeps as `i64`.
fn int(value: usize) -> i64 {
    i64::try_from(value).expect("fits i64")
}

/// measured's metrics set to `snapshot`'s values (compaction present).
pub fn measured(snapshot: &MetricsSnapshot) -> MeasuredReference {
    let m = MeasuredReference::new();
    let (s, t, l, y) = (
        &snapshot.scheduler,
        &snapshot.task_manager,
        &snapshot.load_balancer,
        &snapshot.system,
    );
    m.scheduler
        .total_scheduled_total
        .inc_by(s.total_scheduled as u64);
    m.scheduler.uptime_seconds_total.inc_by(s.uptime_seconds);
    m.scheduler.running_agents.set(int(s.running_agents));
    m.scheduler.queued_agents.set(int(s.queued_agents));
    m.scheduler.suspended_agents.set(int(s.suspended_agents));
    m.scheduler.max_capacity.set(int(s.max_capacity));
    m.scheduler.load_factor_ratio.set(s.load_factor);
    for (finished, &n) in s.agents_finished.iter() {
        let queue = match finished.queue {
            Queue::Interactive => MeasuredQueue::Interactive,
            Queue::Batch => MeasuredQueue::Batch,
        };
        let outcome = match finished.outcome {
            Outcome::Completed => MeasuredOutcome::Completed,
            Outcome::Failed => MeasuredOutcome::Failed,
        };
        m.scheduler
            .agents_finished_total
            .inc_by(MeasuredFinished { queue, outcome }, n);
    }
    m.task_manager.total_tasks.set(int(t.total_tasks));
    m.task_manager.healthy_tasks.set(int(t.healthy_tasks));
    m.task_manager
        .average_uptime_seconds
        .set(t.average_uptime_seconds);
    m.task_manager
        .total_memory_usage_bytes
        .set(int(t.total_memory_usage));
    m.load_balancer
        .total_allocations_total
        .inc_by(l.total_allocations as u64);
    m.load_balancer
        .active_allocations
        .set(int(l.active_allocations));
    m.load_balancer
        .memory_utilization_ratio
        .set(l.memory_utilization);
    m.load_balancer.cpu_utilization_ratio.set(l.cpu_utilization);
    m.load_balancer
        .allocation_failures_total
        .inc_by(l.allocation_failures as u64);
    m.load_balancer
        .average_allocation_time_ms_milliseconds
        .set(l.average_allocation_time_ms);
    for value in allocation_times() {
        m.load_balancer.allocation_time_seconds.observe(value);
    }
    m.system.memory_usage_mb_mebibytes.set(y.memory_usage_mb);
    m.system.cpu_usage_percent.set(y.cpu_usage_percent);
    let c = snapshot
        .compaction
        .as_ref()
        .expect("the reference has compaction");
    m.compaction
        .total_compactions_total
        .inc_by(c.total_compactions);
    m.compaction
        .total_tokens_saved_total
        .inc_by(c.total_tokens_saved);
    for (tier, &n) in &c.compactions_by_tier {
        let tier = match tier.as_str() {
            "deep" => MeasuredTierValue::Deep,
            "full" => MeasuredTierValue::Full,
            _ => MeasuredTierValue::Light,
        };
        m.compaction
            .compactions_by_tier_total
            .inc_by(MeasuredTier { tier }, n);
    }
    if let Some(ratio) = c.context_utilization_ratio {
        m.compaction.context_utilization_ratio.set(ratio);
    }
    m
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClientFinished {
    queue: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClientTier {
    tier: String,
}

/// A prometheus-client counter holding `value`, registered as `name` (it adds `_total`).
fn counter(registry: &mut Registry, name: &str, help: &str, value: u64) {
    let counter = ClientCounter::<u64>::default();
    counter.inc_by(value);
    registry.register(name, help, counter);
}

/// A prometheus-client integer gauge holding `value`.
fn gauge(registry: &mut Registry, name: &str, help: &str, value: usize) {
    let gauge = ClientGauge::<i64>::default();
    gauge.set(int(value));
    registry.register(name, help, gauge);
}

/// A prometheus-client float gauge holding `value`.
fn float_gauge(registry: &mut Registry, name: &str, help: &str, value: f64) {
    let gauge = ClientGauge::<f64, std::sync::atomic::AtomicU64>::default();
    gauge.set(value);
    registry.register(name, help, gauge);
}

/// A prometheus-client registry with `snapshot`'s values (compaction present).
pub fn prometheus_client(snapshot: &MetricsSnapshot) -> Registry {
    let mut r = Registry::default();
    let (s, t, l, y) = (
        &snapshot.scheduler,
        &snapshot.task_manager,
        &snapshot.load_balancer,
        &snapshot.system,
    );
    let help = "Total number of agents scheduled since start.";
    counter(
        &mut r,
        "scheduler_total_scheduled",
        help,
        s.total_scheduled as u64,
    );
    let help = "Time since the scheduler started.";
    counter(&mut r, "scheduler_uptime_seconds", help, s.uptime_seconds);
    let help = "Agents currently running.";
    gauge(&mut r, "scheduler_running_agents", help, s.running_agents);
    let help = "Agents waiting in the queue.";
    gauge(&mut r, "scheduler_queued_agents", help, s.queued_agents);
    let help = "Agents currently suspended.";
    gauge(
        &mut r,
        "scheduler_suspended_agents",
        help,
        s.suspended_agents,
    );
    let help = "Maximum number of agents the scheduler admits.";
    gauge(&mut r, "scheduler_max_capacity", help, s.max_capacity);
    let help = "Running agents as a fraction of capacity (0.0-1.0).";
    float_gauge(&mut r, "scheduler_load_factor_ratio", help, s.load_factor);
    let finished = Family::<ClientFinished, ClientCounter>::default();
    for (queue, outcome, n) in FINISHED {
        finished
            .get_or_create(&ClientFinished { queue, outcome })
            .inc_by(n);
    }
    let help = "Agents that finished since start, by queue and outcome.";
    r.register("scheduler_agents_finished", help, finished);
    gauge(
        &mut r,
        "task_manager_total_tasks",
        "Tasks currently managed.",
        t.total_tasks,
    );
    let help = "Managed tasks that pass their health check.";
    gauge(&mut r, "task_manager_healthy_tasks", help, t.healthy_tasks);
    let help = "Mean uptime of the managed tasks.";
    let value = t.average_uptime_seconds;
    float_gauge(&mut r, "task_manager_average_uptime_seconds", help, value);
    let help = "Memory used by all managed tasks.";
    let value = t.total_memory_usage;
    gauge(&mut r, "task_manager_total_memory_usage_bytes", help, value);
    let help = "Resource allocations made since start.";
    let value = l.total_allocations as u64;
    counter(&mut r, "load_balancer_total_allocations", help, value);
    let help = "Allocations currently held.";
    gauge(
        &mut r,
        "load_balancer_active_allocations",
        help,
        l.active_allocations,
    );
    let help = "Fraction of the memory pool allocated (0.0-1.0).";
    let value = l.memory_utilization;
    float_gauge(
        &mut r,
        "load_balancer_memory_utilization_ratio",
        help,
        value,
    );
    let help = "Fraction of the CPU pool allocated (0.0-1.0).";
    float_gauge(
        &mut r,
        "load_balancer_cpu_utilization_ratio",
        help,
        l.cpu_utilization,
    );
    let help = "Allocation requests refused since start.";
    let value = l.allocation_failures as u64;
    counter(&mut r, "load_balancer_allocation_failures", help, value);
    let help = "Mean time to serve an allocation request.";
    let (name, value) = (
        "load_balancer_average_allocation_time_ms_milliseconds",
        l.average_allocation_time_ms,
    );
    float_gauge(&mut r, name, help, value);
    let histogram = ClientHistogram::new(BOUNDS.iter().copied());
    for value in allocation_times() {
        histogram.observe(value);
    }
    let help = "Time to serve an allocation request, recorded at each request.";
    r.register("load_balancer_allocation_time_seconds", help, histogram);
    let help = "Resident memory of the process.";
    float_gauge(
        &mut r,
        "system_memory_usage_mb_mebibytes",
        help,
        y.memory_usage_mb,
    );
    let help = "CPU time used by the process, as a percentage of one core.";
    float_gauge(
        &mut r,
        "system_cpu_usage_percent",
        help,
        y.cpu_usage_percent,
    );
    let c = snapshot
        .compaction
        .as_ref()
        .expect("the reference has compaction");
    let help = "Total number of compaction runs.";
    counter(
        &mut r,
        "compaction_total_compactions",
        help,
        c.total_compactions,
    );
    let help = "Cumulative tokens reclaimed.";
    counter(
        &mut r,
        "compaction_total_tokens_saved",
        help,
        c.total_tokens_saved,
    );
    let tiers = Family::<ClientTier, ClientCounter>::default();
    for (tier, &n) in &c.compactions_by_tier {
        tiers
            .get_or_create(&ClientTier { tier: tier.clone() })
            .inc_by(n);
    }
    r.register(
        "compaction_compactions_by_tier",
        "Compactions by tier.",
        tiers,
    );
    if let Some(ratio) = c.context_utilization_ratio {
        let help = "Current context utilization ratio (0.0-1.0), if known.";
        float_gauge(&mut r, "compaction_context_utilization_ratio", help, ratio);
    }
    r
}
