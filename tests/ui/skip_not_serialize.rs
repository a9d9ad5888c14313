use metrics_core::MetricsGroup;

struct Started;

#[derive(MetricsGroup)]
struct Snapshot {
    #[metric(skip)]
    started: Started,
    running: u64,
}

fn main() {}
