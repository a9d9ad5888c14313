use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Requests {
    #[metric(rename = "")]
    total: u64,
}

fn main() {}
