use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Snapshot {
    #[metric(skip, rename = "ts")]
    timestamp: u64,
}

fn main() {}
