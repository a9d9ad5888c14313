use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Requests {
    total: u64,
    #[metric(rename = "total")]
    all: u64,
}

fn main() {}
