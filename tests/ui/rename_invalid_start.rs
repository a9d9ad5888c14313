use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Requests {
    #[metric(rename = "1abc")]
    total: u64,
}

fn main() {}
