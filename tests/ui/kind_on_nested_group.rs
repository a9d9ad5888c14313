use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Inner {
    count: u64,
}

#[derive(MetricsGroup)]
struct Outer {
    #[metric(counter)]
    inner: Inner,
}

fn main() {}
