use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Scheduler {
    running: u64,
    name: String,
}

fn main() {}
