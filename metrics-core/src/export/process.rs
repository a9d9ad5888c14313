//! When this process started: counters' default start time. A service's counters count
//! from its start, not from when its exporter was made (which may be later, or made again).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Counters' default start time: the process's start, or now where it cannot be read.
pub(crate) fn start_or_now() -> SystemTime {
    start().unwrap_or_else(SystemTime::now)
}

/// The process's start, to 10 ms; `None` where it cannot be read (off Linux, or without
/// `/proc`), where the exporter's creation stands in.
fn start() -> Option<SystemTime> {
    #[cfg(target_os = "linux")]
    {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        let boot = std::fs::read_to_string("/proc/stat").ok()?;
        linux_start(&stat, &boot)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// From `/proc/self/stat` (`starttime`, field 22: clock ticks after boot) and `/proc/stat`
/// (`btime`: the boot time in Unix seconds). The kernel reports ticks in `USER_HZ`, 100 on
/// every architecture Rust targets.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn linux_start(stat: &str, boot: &str) -> Option<SystemTime> {
    const TICKS_PER_SECOND: u64 = 100;
    // The command name (field 2) is in parentheses and may hold spaces and parentheses:
    // fields are counted after its last `)`, from field 3.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let ticks: u64 = after_name.split_whitespace().nth(22 - 3)?.parse().ok()?;
    let boot_seconds: u64 = boot
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let since_boot = Duration::from_millis(ticks.checked_mul(1000 / TICKS_PER_SECOND)?);
    UNIX_EPOCH.checked_add(Duration::from_secs(boot_seconds) + since_boot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_start_from_literal_proc_files() {
        let stat =
            "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345 1000 100";
        let boot = "cpu  1 2 3\nbtime 1700000000\nprocesses 10\n";
        assert_eq!(
            linux_start(stat, boot),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(123_450))
        );
        assert_eq!(linux_start("4242 (x) S 1", boot), None);
        assert_eq!(linux_start(stat, "cpu 1\n"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_started_before_now() {
        let start = start().expect("/proc is readable");
        let now = SystemTime::now();
        assert!(start <= now, "{start:?} after {now:?}");
        // Started by this test run, not at boot: within the last day.
        assert!(now.duration_since(start).unwrap() < Duration::from_secs(86_400));
    }
}
