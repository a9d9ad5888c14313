use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Latency {
    #[metric(unit = 5)]
    p99: f64,
}

fn main() {}
