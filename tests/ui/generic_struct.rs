use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Requests<T> {
    total: T,
}

fn main() {}
