use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Inner {
    value: u64,
}

#[derive(MetricsGroup)]
struct Outer {
    #[metric(description = "the inner metrics")]
    inner: Inner,
}

fn main() {}
