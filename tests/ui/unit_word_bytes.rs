use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Transfer {
    #[metric(unit = "bytes")]
    value: u64,
}

fn main() {}
