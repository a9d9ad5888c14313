use std::collections::HashMap;

use metrics_core::{Histogram, MetricsGroup};

#[derive(MetricsGroup)]
struct Api {
    #[metric(unit = "s", label = "le")]
    latency: HashMap<String, Histogram>,
}

fn main() {}
