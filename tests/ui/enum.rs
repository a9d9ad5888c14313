use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
enum State {
    Running,
    Stopped,
}

fn main() {}
