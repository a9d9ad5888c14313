use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Requests {
    #[metric(counter, gauge)]
    total: u64,
}

fn main() {}
