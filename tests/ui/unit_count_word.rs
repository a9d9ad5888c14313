use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Transfer {
    #[metric(unit = "requests")]
    value: u64,
}

fn main() {}
