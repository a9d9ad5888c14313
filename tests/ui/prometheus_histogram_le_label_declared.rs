use std::collections::HashMap;

use metrics_core::{Histogram, MetricsGroup};

#[derive(MetricsGroup)]
struct Api {
    #[metric(histogram, unit = "s", label = ("route", "le"))]
    latency: HashMap<(String, String), Histogram>,
}

fn main() {}
