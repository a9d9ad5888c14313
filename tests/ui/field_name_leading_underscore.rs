use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Requests {
    _total: u64,
}

fn main() {}
