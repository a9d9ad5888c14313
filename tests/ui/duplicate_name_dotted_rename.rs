use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Queue {
    depth: u64,
}

#[derive(MetricsGroup)]
struct Scheduler {
    queue: Queue,
    #[metric(rename = "queue.depth")]
    pending: u64,
}

fn main() {}
