use metrics_core::MetricsGroup;
use std::time::SystemTime;

#[derive(MetricsGroup)]
struct Snapshot {
    #[metric(timestamp)]
    taken: SystemTime,
    #[metric(timestamp)]
    written: SystemTime,
    jobs: u64,
}

fn main() {}
