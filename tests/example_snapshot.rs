//! The example service's snapshot: the names the hand-written exporter used, plus the
//! compaction group it forgot, and JSON byte-identical to serde_json's.

#[path = "../examples/scheduler/snapshot.rs"]
#[allow(dead_code)]
mod snapshot;

use metrics_core::schema::MetricKind;
use metrics_core::{json, MetricsGroup};
use snapshot::*;

/// The 19 gauge names the reference OTLP exporter registered by hand.
const REFERENCE_NAMES: [&str; 19] = [
    "scheduler.total_scheduled",
    "scheduler.uptime_seconds",
    "scheduler.running_agents",
    "scheduler.queued_agents",
    "scheduler.suspended_agents",
    "scheduler.max_capacity",
    "scheduler.load_factor",
    "task_manager.total_tasks",
    "task_manager.healthy_tasks",
    "task_manager.average_uptime_seconds",
    "task_manager.total_memory_usage",
    "load_balancer.total_allocations",
    "load_balancer.active_allocations",
    "load_balancer.memory_utilization",
    "load_balancer.cpu_utilization",
    "load_balancer.allocation_failures",
    "load_balancer.average_allocation_time_ms",
    "system.memory_usage_mb",
    "system.cpu_usage_percent",
];

fn snapshot(seed: u64) -> MetricsSnapshot {
    let f = seed as f64;
    MetricsSnapshot {
        timestamp: 1_700_000_000 + seed,
        scheduler: SchedulerMetrics {
            total_scheduled: 10 * seed as usize,
            uptime_seconds: 3600 + seed,
            running_agents: 5,
            queued_agents: seed as usize % 4,
            suspended_agents: 2,
            max_capacity: 1000,
            load_factor: 0.005 * f,
            agents_finished: Default::default(),
        },
        task_manager: TaskManagerMetrics {
            total_tasks: 5,
            healthy_tasks: 4,
            average_uptime_seconds: 1800.25 + f,
            total_memory_usage: 1 << 30,
        },
        load_balancer: LoadBalancerMetrics {
            total_allocations: 100 + seed as usize,
            active_allocations: 5,
            memory_utilization: 0.45,
            cpu_utilization: f / 7.0,
            allocation_failures: 2,
            average_allocation_time_ms: 1.5,
            allocation_time: Default::default(),
        },
        system: SystemResourceMetrics {
            memory_usage_mb: 512.0 + f / 3.0,
            cpu_usage_percent: 30.0,
        },
        compaction: (seed % 3 != 0).then(|| CompactionMetrics {
            total_compactions: seed,
            total_tokens_saved: seed * 1000,
            compactions_by_tier: (0..seed % 5)
                .map(|tier| (format!("tier{tier}"), seed + tier))
                .collect(),
            context_utilization_ratio: (seed % 2 == 0).then_some(f / 100.0),
        }),
    }
}

#[test]
fn names_are_the_reference_nineteen_plus_compaction_and_the_distributions() {
    let names: Vec<String> = MetricsSnapshot::SCHEMA.metrics().map(|m| m.name).collect();
    let mut expected: Vec<String> = Vec::new();
    for name in REFERENCE_NAMES {
        expected.push(name.to_string());
        // The labeled counter and the histogram follow the reference metrics they sit beside.
        match name {
            "scheduler.load_factor" => expected.push("scheduler.agents_finished".into()),
            "load_balancer.average_allocation_time_ms" => {
                expected.push("load_balancer.allocation_time".into())
            }
            _ => {}
        }
    }
    expected.extend(
        [
            "compaction.total_compactions",
            "compaction.total_tokens_saved",
            "compaction.compactions_by_tier",
            "compaction.context_utilization_ratio",
        ]
        .map(String::from),
    );
    assert_eq!(names, expected);
}

#[test]
fn counters_are_counters_and_every_metric_has_a_unit_and_description() {
    for metric in MetricsSnapshot::SCHEMA.metrics() {
        assert!(
            !metric.descriptor.unit.is_empty(),
            "{} has no unit",
            metric.name
        );
        assert!(
            !metric.descriptor.description.is_empty(),
            "{} has no description",
            metric.name
        );
    }
    let counters: Vec<String> = MetricsSnapshot::SCHEMA
        .metrics()
        .filter(|m| m.descriptor.kind == MetricKind::Counter)
        .map(|m| m.name)
        .collect();
    assert_eq!(
        counters,
        [
            "scheduler.total_scheduled",
            "scheduler.uptime_seconds",
            "scheduler.agents_finished",
            "load_balancer.total_allocations",
            "load_balancer.allocation_failures",
            "compaction.total_compactions",
            "compaction.total_tokens_saved",
            "compaction.compactions_by_tier",
        ]
    );
}

#[test]
fn json_is_byte_identical_to_serde_json() {
    for seed in 0..100 {
        let value = snapshot(seed);
        assert_eq!(
            json::to_vec(&value).unwrap(),
            serde_json::to_vec(&value).unwrap()
        );
        assert_eq!(
            json::to_vec_pretty(&value).unwrap(),
            serde_json::to_vec_pretty(&value).unwrap()
        );
        let back: MetricsSnapshot = serde_json::from_slice(&json::to_vec(&value).unwrap()).unwrap();
        assert_eq!(back, value);
    }
}
