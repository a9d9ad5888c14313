use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Snapshot {
    #[metric(rename = "a.b")]
    dotted: u64,
    a_b: u64,
}

fn main() {}
