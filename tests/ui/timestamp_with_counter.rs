use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Snapshot {
    #[metric(timestamp, counter, unit = "s")]
    taken: u64,
}

fn main() {}
