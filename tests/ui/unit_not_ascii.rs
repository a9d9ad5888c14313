use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Latency {
    #[metric(unit = "µs")]
    p99: f64,
}

fn main() {}
