use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Compaction {
    #[metric(counter, label = "tier")]
    total: u64,
}

fn main() {}
