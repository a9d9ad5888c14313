use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Latency {
    #[metric(unti = "s")]
    p99: f64,
}

fn main() {}
