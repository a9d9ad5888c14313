//! A simulated scheduler: agents arrive, queue, run, get suspended and finish; the task
//! manager, load balancer and context compaction move with them.

use std::time::{Duration, Instant};

use metrics_core::{Histogram, LabelMap};

use crate::snapshot::{
    CompactionMetrics, Finished, LoadBalancerMetrics, MetricsSnapshot, Outcome, Queue,
    SchedulerMetrics, SystemResourceMetrics, TaskManagerMetrics,
};

/// Agents the scheduler admits at once.
const MAX_CAPACITY: usize = 64;
/// Memory one running agent holds, in bytes.
const AGENT_MEMORY: usize = 48 << 20;
/// Compaction tiers, lightest first.
const TIERS: [&str; 3] = ["light", "medium", "deep"];

/// The scheduler's state, advanced in steps of wall-clock time.
pub struct Simulation {
    rng: u64,
    started: Instant,
    last_step: Instant,
    total_scheduled: usize,
    queued: usize,
    /// Start times of the running agents.
    running: Vec<Instant>,
    suspended: usize,
    total_allocations: usize,
    allocation_failures: usize,
    allocation_time_ms: f64,
    /// Each allocation's time, in seconds (a live histogram: `record` takes `&self`).
    allocation_time: Histogram,
    agents_finished: LabelMap<Finished, u64>,
    compaction: CompactionMetrics,
}

impl Simulation {
    pub fn new(seed: u64) -> Self {
        let now = Instant::now();
        Simulation {
            rng: seed | 1,
            started: now,
            last_step: now,
            total_scheduled: 0,
            queued: 0,
            running: Vec::new(),
            suspended: 0,
            total_allocations: 0,
            allocation_failures: 0,
            allocation_time_ms: 0.0,
            // The bounds the derive checked at compile time, so never the default.
            allocation_time: Histogram::with_bounds(LoadBalancerMetrics::ALLOCATION_TIME_BUCKETS)
                .unwrap_or_default(),
            agents_finished: LabelMap::new(),
            compaction: CompactionMetrics::default(),
        }
    }

    /// Advances the simulation to now, then describes it.
    pub fn snapshot(&mut self, system: SystemResourceMetrics) -> MetricsSnapshot {
        let now = Instant::now();
        let steps = (now.duration_since(self.last_step).as_millis() / 100).max(1);
        for _ in 0..steps {
            self.step(now);
        }
        self.last_step = now;
        self.describe(now, system)
    }

    /// One 100 ms step.
    fn step(&mut self, now: Instant) {
        self.queued += self.below(4) as usize;
        // Finished agents leave; suspended ones sometimes resume.
        let mut kept = Vec::with_capacity(self.running.len());
        for started in std::mem::take(&mut self.running) {
            if self.below(100) < 3 {
                let finished = Finished {
                    queue: if self.below(3) == 0 {
                        Queue::Interactive
                    } else {
                        Queue::Batch
                    },
                    outcome: if self.below(10) == 0 {
                        Outcome::Failed
                    } else {
                        Outcome::Completed
                    },
                };
                *self.agents_finished.entry(finished).or_insert(0) += 1;
                continue;
            }
            kept.push(started);
        }
        self.running = kept;
        if self.below(10) == 0 && !self.running.is_empty() {
            self.running.pop();
            self.suspended += 1;
        }
        if self.suspended > 0 && self.below(8) == 0 {
            self.suspended -= 1;
            self.queued += 1;
        }
        // The load balancer places queued agents while there is capacity.
        while self.queued > 0 {
            self.total_allocations += 1;
            let time_ms = 0.5 + self.below(30) as f64 / 10.0;
            self.allocation_time.record(time_ms / 1e3);
            self.allocation_time_ms = 0.8 * self.allocation_time_ms + 0.2 * time_ms;
            if self.running.len() + self.suspended >= MAX_CAPACITY {
                self.allocation_failures += 1;
                break;
            }
            self.queued -= 1;
            self.total_scheduled += 1;
            self.running.push(now);
        }
        // Context compaction runs now and then, deeper tiers more rarely.
        if self.below(5) == 0 {
            let tier = TIERS[(self.below(7) as usize).min(6) / 3];
            self.compaction.total_compactions += 1;
            self.compaction.total_tokens_saved += 500 + self.below(4000);
            *self
                .compaction
                .compactions_by_tier
                .entry(tier.to_string())
                .or_insert(0) += 1;
        }
    }

    fn describe(&self, now: Instant, system: SystemResourceMetrics) -> MetricsSnapshot {
        let running = self.running.len();
        let uptimes: Vec<Duration> = self
            .running
            .iter()
            .map(|started| now.duration_since(*started))
            .collect();
        let average_uptime = if uptimes.is_empty() {
            0.0
        } else {
            uptimes.iter().map(Duration::as_secs_f64).sum::<f64>() / uptimes.len() as f64
        };
        let load = running as f64 / MAX_CAPACITY as f64;
        let mut compaction = self.compaction.clone();
        compaction.context_utilization_ratio =
            (compaction.total_compactions > 0).then_some(0.35 + 0.6 * load);
        MetricsSnapshot {
            timestamp: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_secs()),
            scheduler: SchedulerMetrics {
                total_scheduled: self.total_scheduled,
                uptime_seconds: now.duration_since(self.started).as_secs(),
                running_agents: running,
                queued_agents: self.queued,
                suspended_agents: self.suspended,
                max_capacity: MAX_CAPACITY,
                load_factor: load,
                agents_finished: self.agents_finished.clone(),
            },
            task_manager: TaskManagerMetrics {
                total_tasks: running + self.suspended,
                healthy_tasks: running,
                average_uptime_seconds: average_uptime,
                total_memory_usage: (running + self.suspended) * AGENT_MEMORY,
            },
            load_balancer: LoadBalancerMetrics {
                total_allocations: self.total_allocations,
                active_allocations: running,
                memory_utilization: load * 0.9,
                cpu_utilization: load * 0.7,
                allocation_failures: self.allocation_failures,
                average_allocation_time_ms: self.allocation_time_ms,
                allocation_time: self.allocation_time.snapshot(),
            },
            system,
            compaction: (self.compaction.total_compactions > 0).then_some(compaction),
        }
    }

    /// A pseudo-random number below `n` (xorshift; no dependency needed for a simulation).
    fn below(&mut self, n: u64) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng % n
    }
}
