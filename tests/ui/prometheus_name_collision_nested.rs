use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Queue {
    #[metric(unit = "s")]
    wait: f64,
}

#[derive(MetricsGroup)]
struct Snapshot {
    #[metric(unit = "s")]
    queue_wait: f64,
    queue: Queue,
}

fn main() {}
