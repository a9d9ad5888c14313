use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Requests {
    #[metric]
    total: u64,
}

fn main() {}
