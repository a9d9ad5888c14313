use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Inner {
    jobs: u64,
}

#[derive(MetricsGroup)]
struct Snapshot {
    #[metric(timestamp)]
    inner: Inner,
}

fn main() {}
