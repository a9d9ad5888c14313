use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
#[metric(counter)]
struct Requests {
    total: u64,
}

fn main() {}
