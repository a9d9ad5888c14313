use metrics_core::MetricsGroup;
use serde::{Serialize, Serializer};

fn as_string<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

#[derive(MetricsGroup, Serialize)]
struct Snapshot {
    #[serde(serialize_with = "as_string")]
    running: u64,
    #[serde(with = "module")]
    other: u64,
}

mod module {
    pub fn serialize<S: serde::Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }
}

fn main() {}
