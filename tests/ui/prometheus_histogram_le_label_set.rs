use metrics_core::{Histogram, LabelMap, LabelSet, MetricsGroup};

#[derive(LabelSet, serde::Serialize, PartialEq, Eq, PartialOrd, Ord)]
struct Bucket {
    le: String,
}

#[derive(MetricsGroup)]
struct Api {
    #[metric(histogram, unit = "s")]
    latency: LabelMap<Bucket, Histogram>,
}

fn main() {}
