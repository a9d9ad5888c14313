use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Latency {
    #[metric(unit = "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu")]
    p99: f64,
}

fn main() {}
