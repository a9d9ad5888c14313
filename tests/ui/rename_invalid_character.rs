use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Requests {
    #[metric(rename = "a b")]
    total: u64,
}

fn main() {}
