use metrics_core::MetricsGroup;
use serde::Serialize;

#[derive(MetricsGroup, Serialize)]
#[serde(transparent)]
struct Snapshot {
    running_agents: u64,
}

fn main() {}
