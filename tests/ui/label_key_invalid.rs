use std::collections::HashMap;

use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Gateway {
    #[metric(counter, label = "http-route")]
    requests: HashMap<String, u64>,
}

fn main() {}
