use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Transfer {
    #[metric(unit = "kmin")]
    value: f64,
}

fn main() {}
