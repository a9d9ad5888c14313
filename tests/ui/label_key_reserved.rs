use std::collections::HashMap;

use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Gateway {
    #[metric(counter, label = ("route", "otel.metric.overflow"))]
    requests: HashMap<(String, String), u64>,
}

fn main() {}
