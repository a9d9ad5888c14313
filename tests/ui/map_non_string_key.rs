use std::collections::HashMap;

use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Compaction {
    #[metric(counter, label = "tier")]
    by_tier: HashMap<u64, u64>,
}

fn main() {}
