use metrics_core::MetricsGroup;
use std::time::SystemTime;

#[derive(MetricsGroup)]
struct Snapshot {
    #[metric(start_time, unit = "s")]
    since: SystemTime,
    #[metric(counter)]
    jobs: u64,
}

fn main() {}
