use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Latency {
    #[metric(countr, unti = "s")]
    p50: f64,
    #[metric(descripton = "the slowest 1%")]
    p99: f64,
}

fn main() {}
