use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Inner {
    seconds: f64,
}

#[derive(MetricsGroup)]
struct Outer {
    #[metric(unit = "s")]
    inner: Inner,
}

fn main() {}
