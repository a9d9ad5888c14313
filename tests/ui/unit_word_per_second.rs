use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Transfer {
    #[metric(unit = "bytes/second")]
    value: f64,
}

fn main() {}
