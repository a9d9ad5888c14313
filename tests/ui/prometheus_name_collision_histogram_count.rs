use metrics_core::{Histogram, MetricsGroup};

#[derive(MetricsGroup)]
struct Api {
    #[metric(histogram, unit = "s")]
    latency: Histogram,
    latency_seconds_count: u64,
}

fn main() {}
