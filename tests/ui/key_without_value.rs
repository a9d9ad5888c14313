use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Latency {
    #[metric(unit)]
    p99: f64,
}

fn main() {}
