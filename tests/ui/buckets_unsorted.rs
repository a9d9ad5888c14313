use metrics_core::{Histogram, MetricsGroup};

#[derive(MetricsGroup)]
struct Api {
    #[metric(unit = "s", buckets = [0.1, 1, 0.5])]
    latency: Histogram,
    #[metric(unit = "s", buckets = [])]
    wait: Histogram,
}

fn main() {}
