//! The process's own memory and CPU use, read from `/proc` where the OS has it.

use std::time::Instant;

use crate::snapshot::SystemResourceMetrics;

/// Linux reports CPU times in clock ticks of `USER_HZ`, which is 100 on every mainstream
/// architecture.
const TICKS_PER_SECOND: f64 = 100.0;

/// Samples resident memory and the CPU used since the previous sample.
pub struct SystemSampler {
    last: Option<(Instant, f64)>,
}

impl SystemSampler {
    pub fn new() -> Self {
        SystemSampler {
            last: cpu_seconds().map(|cpu| (Instant::now(), cpu)),
        }
    }

    /// Current usage; zeros where the OS does not expose it (no `/proc`).
    pub fn sample(&mut self) -> SystemResourceMetrics {
        let now = Instant::now();
        let cpu = cpu_seconds();
        let cpu_usage_percent = match (self.last, cpu) {
            (Some((then, cpu_then)), Some(cpu_now)) if now > then => {
                100.0 * (cpu_now - cpu_then) / now.duration_since(then).as_secs_f64()
            }
            _ => 0.0,
        };
        if let Some(cpu) = cpu {
            self.last = Some((now, cpu));
        }
        SystemResourceMetrics {
            memory_usage_mb: resident_mib().unwrap_or(0.0),
            cpu_usage_percent,
        }
    }
}

/// `VmRSS` from `/proc/self/status`, in MiB.
fn resident_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// User plus system CPU time of this process, from `/proc/self/stat`, in seconds.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / TICKS_PER_SECOND)
}
