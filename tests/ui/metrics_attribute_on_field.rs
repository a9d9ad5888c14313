use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Requests {
    #[metrics(prefix = "http")]
    total: u64,
}

fn main() {}
