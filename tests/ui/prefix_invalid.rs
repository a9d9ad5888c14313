use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
#[metrics(prefix = "http requests")]
struct Requests {
    total: u64,
}

fn main() {}
