use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Snapshot {
    #[metric(timestamp, unit = "min")]
    taken: u64,
    jobs: u64,
}

fn main() {}
