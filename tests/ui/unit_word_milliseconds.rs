use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Transfer {
    #[metric(unit = "milliseconds")]
    value: f64,
}

fn main() {}
