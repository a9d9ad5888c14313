use metrics_core::MetricsGroup;
use serde::Serialize;
use std::collections::HashMap;

#[derive(MetricsGroup, Serialize)]
struct Snapshot {
    running: u64,
    #[metric(skip)]
    #[serde(flatten)]
    extra: HashMap<String, u64>,
}

fn main() {}
