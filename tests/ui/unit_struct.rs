use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Nothing;

fn main() {}
