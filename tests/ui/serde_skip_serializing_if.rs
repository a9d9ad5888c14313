use metrics_core::MetricsGroup;
use serde::Serialize;

#[derive(MetricsGroup, Serialize)]
struct Snapshot {
    #[serde(rename = "Running", skip_serializing_if = "Option::is_none")]
    running: Option<u64>,
}

fn main() {}
