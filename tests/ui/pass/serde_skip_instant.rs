//! A field that is neither a metric nor in the JSON need not be `Serialize`.
use metrics_core::MetricsGroup;
use serde::Serialize;
use std::time::Instant;

#[derive(MetricsGroup, Serialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    #[metric(skip)]
    #[serde(skip)]
    started: Instant,
    running_agents: u64,
}

fn main() {
    let snapshot = Snapshot { started: Instant::now(), running_agents: 1 };
    let text = metrics_core::json::to_string(&snapshot).unwrap();
    assert_eq!(text, serde_json::to_string(&snapshot).unwrap());
    assert_eq!(text, r#"{"runningAgents":1}"#);
    let _ = snapshot.started;
}
