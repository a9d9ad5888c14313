use std::collections::HashMap;

use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Api {
    #[metric(unit = "s", buckets = [0.1, 1])]
    latency: f64,
    #[metric(counter, label = "route", buckets = [0.1, 1])]
    requests: HashMap<String, u64>,
}

fn main() {}
