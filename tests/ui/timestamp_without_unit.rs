use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Snapshot {
    /// Seconds since the Unix epoch: the derive cannot tell.
    #[metric(timestamp)]
    taken: u64,
    jobs: u64,
}

fn main() {}
