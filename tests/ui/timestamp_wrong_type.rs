use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Snapshot {
    #[metric(timestamp)]
    taken: String,
    jobs: u64,
}

fn main() {}
