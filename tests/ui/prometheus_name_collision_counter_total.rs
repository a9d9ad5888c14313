use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Snapshot {
    #[metric(counter)]
    jobs: u64,
    jobs_total: u64,
}

fn main() {}
