use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Inner {
    total: u64,
}

#[derive(MetricsGroup)]
struct Outer {
    total: u64,
    #[metric(flatten)]
    inner: Inner,
}

fn main() {}
