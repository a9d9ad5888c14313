use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Scheduler {
    #[metric(unit = "s")]
    last_error: Option<String>,
}

fn main() {}
