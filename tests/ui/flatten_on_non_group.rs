use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Requests {
    #[metric(flatten)]
    total: u64,
}

fn main() {}
