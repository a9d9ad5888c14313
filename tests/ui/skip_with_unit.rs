use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Snapshot {
    #[metric(skip, unit = "s")]
    timestamp: u64,
}

fn main() {}
