use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
union Bits {
    int: u64,
    float: f64,
}

fn main() {}
