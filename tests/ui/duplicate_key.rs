use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Latency {
    #[metric(unit = "s", unit = "ms")]
    p99: f64,
}

fn main() {}
