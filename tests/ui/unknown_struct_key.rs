use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
#[metrics(prefx = "scheduler")]
struct Scheduler {
    running: u64,
}

fn main() {}
