use metrics_core::MetricsGroup;
use serde::Serialize;

#[derive(MetricsGroup, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
struct Snapshot {
    running_agents: u64,
}

fn main() {}
