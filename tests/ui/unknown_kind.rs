use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Requests {
    #[metric(countr)]
    total: u64,
}

fn main() {}
