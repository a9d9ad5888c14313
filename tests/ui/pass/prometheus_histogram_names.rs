//! Names near a histogram's series that Prometheus keeps apart: they compile.

use std::collections::HashMap;

use metrics_core::{Histogram, MetricsGroup};

#[derive(MetricsGroup)]
struct Stage {
    #[metric(unit = "s")]
    latency: Histogram,
    #[metric(unit = "s", label = "level")]
    by_level: HashMap<String, Histogram>,
}

#[derive(MetricsGroup)]
struct Pipeline {
    /// Not a series of the histogram: `_max` is no suffix of one.
    parse_latency_seconds_max: f64,
    /// `_count` of the histogram in another unit.
    #[metric(unit = "ms")]
    parse_latency_count: u64,
    #[metric(counter)]
    parse_latency: u64,
    parse: Stage,
}

fn main() {
    let _ = Pipeline {
        parse_latency_seconds_max: 0.0,
        parse_latency_count: 0,
        parse_latency: 0,
        parse: Stage {
            latency: Histogram::new(),
            by_level: HashMap::new(),
        },
    };
}
