use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Inner {
    value: u64,
}

#[derive(MetricsGroup)]
struct Outer {
    #[metric(flaten)]
    inner: Inner,
}

fn main() {}
