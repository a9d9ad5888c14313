use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
#[metrics = "http"]
struct Requests {
    total: u64,
}

fn main() {}
