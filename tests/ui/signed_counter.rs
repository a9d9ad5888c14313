use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Balance {
    #[metric(counter)]
    delta: i64,
}

fn main() {}
