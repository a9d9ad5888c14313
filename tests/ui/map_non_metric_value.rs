use std::collections::BTreeMap;

use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Compaction {
    #[metric(label = "tier")]
    by_tier: BTreeMap<String, String>,
}

fn main() {}
