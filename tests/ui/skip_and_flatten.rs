use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Inner {
    value: u64,
}

#[derive(MetricsGroup)]
struct Outer {
    #[metric(skip, flatten)]
    inner: Inner,
}

fn main() {}
