use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Http {
    #[metric(counter)]
    requests_served: u64,
}

#[derive(MetricsGroup)]
struct Snapshot {
    #[metric(counter)]
    http_requests_served: u64,
    http: Http,
}

fn main() {}
