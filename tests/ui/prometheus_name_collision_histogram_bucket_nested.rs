use metrics_core::{Histogram, MetricsGroup};

#[derive(MetricsGroup)]
struct Stage {
    #[metric(unit = "s")]
    latency: Histogram,
}

#[derive(MetricsGroup)]
struct Pipeline {
    parse_latency_seconds_bucket: u64,
    parse: Stage,
}

fn main() {}
