use metrics_core::{LabelMap, MetricsGroup};

#[derive(MetricsGroup)]
struct Gateway {
    #[metric(counter, label = ("route", "method"))]
    requests: LabelMap<(String, String, u16), u64>,
}

fn main() {}
