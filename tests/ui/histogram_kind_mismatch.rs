use metrics_core::{Histogram, MetricsGroup};

#[derive(MetricsGroup)]
struct Api {
    #[metric(histogram)]
    requests: u64,
}

#[derive(MetricsGroup)]
struct Latency {
    #[metric(counter)]
    latency: Histogram,
}

fn main() {}
