//! Shared test parts: the real OTLP receiver process, the example snapshot, log capture and
//! child-process runs.

#![allow(dead_code)]

pub mod child;
#[cfg(feature = "export")]
pub mod expected;
pub mod logs;
pub mod promtool;
// The receiver speaks the configuration's protocols, which only `export` builds have.
#[cfg(feature = "export")]
pub mod receiver;

#[path = "../../examples/scheduler/snapshot.rs"]
pub mod snapshot;

use std::collections::HashMap;

use snapshot::*;

/// The example binary `name` that `cargo test` builds next to the test binaries.
pub fn example_binary(name: &str) -> std::path::PathBuf {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let binary = deps.parent().unwrap().join("examples").join(name);
    assert!(
        binary.exists(),
        "{} not built: run the tests with `cargo test` (or `cargo build --example {name}`)",
        binary.display()
    );
    binary
}

/// An example snapshot with every group present and a three-entry label map.
pub fn example_snapshot() -> MetricsSnapshot {
    MetricsSnapshot {
        timestamp: 1_700_000_000,
        scheduler: SchedulerMetrics {
            total_scheduled: 42,
            uptime_seconds: 3600,
            running_agents: 5,
            queued_agents: 3,
            suspended_agents: 2,
            max_capacity: 1000,
            load_factor: 0.005,
            agents_finished: Default::default(),
        },
        task_manager: TaskManagerMetrics {
            total_tasks: 5,
            healthy_tasks: 4,
            average_uptime_seconds: 1800.5,
            total_memory_usage: 1 << 30,
        },
        load_balancer: LoadBalancerMetrics {
            total_allocations: 100,
            active_allocations: 5,
            memory_utilization: 0.45,
            cpu_utilization: 0.3,
            allocation_failures: 2,
            average_allocation_time_ms: 1.5,
            allocation_time: Default::default(),
        },
        system: SystemResourceMetrics {
            memory_usage_mb: 512.25,
            cpu_usage_percent: 30.0,
        },
        compaction: Some(CompactionMetrics {
            total_compactions: 9,
            total_tokens_saved: 123_456,
            compactions_by_tier: HashMap::from([
                ("light".to_string(), 6),
                ("deep".to_string(), 2),
                ("full".to_string(), 1),
            ]),
            context_utilization_ratio: Some(0.75),
        }),
    }
}
