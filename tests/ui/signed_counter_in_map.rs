use std::collections::HashMap;

use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Balance {
    #[metric(counter, label = "account")]
    deltas: HashMap<String, i32>,
}

fn main() {}
