use metrics_core::{LabelMap, MetricsGroup};

#[derive(MetricsGroup)]
struct Gateway {
    #[metric(counter, label = ("route", "route"))]
    requests: LabelMap<(String, String), u64>,
    #[metric(counter, label = ("http.route", "http_route"))]
    bytes: LabelMap<(String, String), u64>,
}

fn main() {}
