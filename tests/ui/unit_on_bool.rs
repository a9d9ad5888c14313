use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Health {
    #[metric(unit = "1")]
    healthy: bool,
}

fn main() {}
