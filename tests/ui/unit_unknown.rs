use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Transfer {
    #[metric(unit = "furlong")]
    value: f64,
}

fn main() {}
