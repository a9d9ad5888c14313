use std::collections::HashMap;

use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Compaction {
    #[metric(counter)]
    by_tier: HashMap<String, u64>,
}

fn main() {}
