use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Inner {
    value: u64,
}

#[derive(MetricsGroup)]
struct Outer {
    #[metric(label = "tier")]
    inner: Inner,
}

fn main() {}
