//! What the benchmarks share: the values they encode, and a way to run one routine a fixed
//! number of times under callgrind, whose instruction counts do not depend on the machine's
//! load.

#![allow(dead_code)]

// The SDK path takes its resource from a `MetricsConfig`, which only `export` builds have.
#[cfg(feature = "export")]
pub mod sdk_path;
#[path = "../../examples/scheduler/snapshot.rs"]
pub mod snapshot;
pub mod wide;

use std::collections::{BTreeMap, HashMap};

use metrics_core::MetricsGroup;
use serde::Serialize;
use snapshot::*;

/// The example service's snapshot with every group present and its three compaction tiers.
pub fn reference_snapshot() -> MetricsSnapshot {
    let tiers = [("deep", 2), ("full", 1), ("light", 6)];
    let compactions_by_tier = tiers.iter().map(|&(k, v)| (k.to_owned(), v)).collect();
    MetricsSnapshot {
        timestamp: 1_700_000_000,
        compaction: Some(CompactionMetrics {
            total_compactions: 9,
            total_tokens_saved: 123_456,
            compactions_by_tier,
            context_utilization_ratio: Some(0.75),
        }),
        ..reference_snapshot_without_compaction()
    }
}

/// The snapshot the hand-written exporter reported: the 19 metrics of the four groups it
/// knew, compaction absent. Values as the example service produces them: floats from
/// divisions, with full-length representations.
pub fn reference_snapshot_without_compaction() -> MetricsSnapshot {
    MetricsSnapshot {
        timestamp: 1_700_000_000,
        scheduler: SchedulerMetrics {
            total_scheduled: 4_211,
            uptime_seconds: 86_400,
            running_agents: 37,
            queued_agents: 3,
            suspended_agents: 2,
            max_capacity: 1000,
            load_factor: 37.0 / 1000.0,
            agents_finished: Default::default(),
        },
        task_manager: TaskManagerMetrics {
            total_tasks: 37,
            healthy_tasks: 35,
            average_uptime_seconds: 1_234_567.0 / 37.0,
            total_memory_usage: 1_879_048_192,
        },
        load_balancer: LoadBalancerMetrics {
            total_allocations: 4_180,
            active_allocations: 37,
            memory_utilization: 0.45,
            cpu_utilization: 11.0 / 30.0,
            allocation_failures: 31,
            average_allocation_time_ms: 1.5,
            allocation_time: Default::default(),
        },
        system: SystemResourceMetrics {
            memory_usage_mb: 512.25,
            cpu_usage_percent: 100.0 / 3.0,
        },
        compaction: None,
    }
}

/// A group with one labeled map (`HashMap`, as users write it).
#[derive(Debug, Clone, MetricsGroup, Serialize)]
pub struct Labeled {
    /// Requests per worker.
    #[metric(counter, unit = "{request}", label = "worker")]
    pub requests: HashMap<String, u64>,
}

/// The same group with a `BTreeMap`, which serde_json also writes in key order.
#[derive(Debug, Clone, MetricsGroup, Serialize)]
pub struct LabeledSorted {
    /// Requests per worker.
    #[metric(counter, unit = "{request}", label = "worker")]
    pub requests: BTreeMap<String, u64>,
}

/// `n` worker labels with counts of varied width.
pub fn entries(n: usize) -> impl Iterator<Item = (String, u64)> {
    (0..n).map(|i| {
        (
            format!("worker-{i:06}"),
            (i as u64).wrapping_mul(2_654_435_761) % 10_000_000,
        )
    })
}

/// A bench's `main`: `BENCH_LIST`, `BENCH_INSTRUMENT` or `BENCH_PAIRED` when set (see
/// [`instrument`] and [`paired`]), otherwise criterion when run by `cargo bench`, which passes
/// `--bench`. `cargo test` builds the benches too (`test = true` in Cargo.toml), so that they
/// keep compiling, and runs them without it: they return before building their values.
pub fn main(routines: impl FnOnce() -> Vec<Routine>, configure: impl Fn(&str, &mut Group<'_>)) {
    let mode = ["BENCH_LIST", "BENCH_INSTRUMENT", "BENCH_PAIRED"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    if !mode && !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    let mut routines = routines();
    if !instrument(&mut routines) && !paired(&mut routines) {
        criterion_main(&mut routines, configure);
    }
}

/// One benchmarked routine, named as its criterion function.
pub struct Routine {
    pub group: String,
    pub name: &'static str,
    pub run: Box<dyn FnMut()>,
}

impl Routine {
    pub fn new(group: impl Into<String>, name: &'static str, run: impl FnMut() + 'static) -> Self {
        Routine {
            group: group.into(),
            name,
            run: Box::new(run),
        }
    }
}

/// With `BENCH_INSTRUMENT=group/name` set, runs that routine once to warm up and then
/// `BENCH_ITERS` (default 1000) times inside [`instrumented`], and returns `true`:
/// `scripts/callgrind.py` counts the instructions of that function alone.
/// With `BENCH_LIST` set, prints the routines' ids instead.
pub fn instrument(routines: &mut [Routine]) -> bool {
    if std::env::var_os("BENCH_LIST").is_some() {
        for routine in routines {
            println!("{}/{}", routine.group, routine.name);
        }
        return true;
    }
    let Ok(id) = std::env::var("BENCH_INSTRUMENT") else {
        return false;
    };
    let iters = std::env::var("BENCH_ITERS").map_or(1000, |v| v.parse().expect("BENCH_ITERS"));
    let routine = routines
        .iter_mut()
        .find(|r| format!("{}/{}", r.group, r.name) == id)
        .unwrap_or_else(|| panic!("no routine {id}"));
    (routine.run)();
    instrumented(&mut routine.run, iters);
    true
}

/// The only code callgrind collects in (`--toggle-collect`).
#[inline(never)]
pub fn instrumented(run: &mut dyn FnMut(), iters: u64) {
    for _ in 0..iters {
        run();
    }
}

/// A criterion benchmark group, for `criterion_main`'s `configure`.
pub type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// With `BENCH_PAIRED` set, times each group's routines in alternation instead of criterion
/// and returns `true`: `BENCH_ROUNDS` (default 101) rounds, each running every routine of
/// the group for about a millisecond in turn. Routines measured next to each other see the
/// same load from other users of the machine, so the median of the per-round ratios to the
/// group's last routine holds still where criterion's one-after-the-other medians drift.
pub fn paired(routines: &mut [Routine]) -> bool {
    let Ok(filter) = std::env::var("BENCH_PAIRED") else {
        return false;
    };
    let rounds: usize =
        std::env::var("BENCH_ROUNDS").map_or(101, |v| v.parse().expect("BENCH_ROUNDS"));
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    println!("| group | routine | median per iteration | median of per-round ratios to the last routine |");
    println!("| --- | --- | ---: | ---: |");
    let mut start = 0;
    while start < routines.len() {
        let group_name = routines[start].group.clone();
        let end = start
            + routines[start..]
                .iter()
                .take_while(|r| r.group == group_name)
                .count();
        let group = &mut routines[start..end];
        start = end;
        if !group_name.contains(&filter) {
            continue;
        }
        // Iterations per batch: about a millisecond of each routine.
        let batches: Vec<u32> = group
            .iter_mut()
            .map(|routine| {
                let begin = std::time::Instant::now();
                let mut n = 0;
                while begin.elapsed() < std::time::Duration::from_millis(1) {
                    (routine.run)();
                    n += 1;
                }
                n
            })
            .collect();
        let mut per_iteration = vec![Vec::with_capacity(rounds); group.len()];
        for _ in 0..rounds {
            for ((routine, &n), times) in group.iter_mut().zip(&batches).zip(&mut per_iteration) {
                let begin = std::time::Instant::now();
                for _ in 0..n {
                    (routine.run)();
                }
                times.push(begin.elapsed().as_secs_f64() / f64::from(n));
            }
        }
        let last = per_iteration.last().cloned().unwrap_or_default();
        for (routine, times) in group.iter().zip(&per_iteration) {
            let ratios = times.iter().zip(&last).map(|(t, l)| t / l).collect();
            println!(
                "| {group_name} | {} | {:.1} ns | {:.3} |",
                routine.name,
                median(times.clone()) * 1e9,
                median(ratios)
            );
        }
    }
    true
}

/// Runs every routine under criterion, one benchmark group per `group`, in order;
/// `configure` may set a group's sample size, throughput and so on.
pub fn criterion_main(routines: &mut [Routine], configure: impl Fn(&str, &mut Group<'_>)) {
    let mut criterion = criterion::Criterion::default().configure_from_args();
    let mut i = 0;
    while i < routines.len() {
        let group_name = routines[i].group.clone();
        let mut group = criterion.benchmark_group(&group_name);
        configure(&group_name, &mut group);
        while i < routines.len() && routines[i].group == group_name {
            let routine = &mut routines[i];
            group.bench_function(routine.name, |b| b.iter(&mut routine.run));
            i += 1;
        }
        group.finish();
    }
    criterion.final_summary();
}
