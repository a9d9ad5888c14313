use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Requests {
    #[metric(counter = true)]
    total: u64,
}

fn main() {}
