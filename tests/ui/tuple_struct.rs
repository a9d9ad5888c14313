use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Requests(u64, u64);

fn main() {}
