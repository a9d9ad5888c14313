use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Latency {
    #[metric(unit = "s")]
    samples: Vec<u64>,
}

fn main() {}
