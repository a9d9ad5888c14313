use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
struct Inner {
    #[metric(
        rename = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    )]
    value: u64,
}

#[derive(MetricsGroup)]
#[metrics(
    prefix = "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
)]
struct Outer {
    #[metric(flatten)]
    inner: Inner,
}

fn main() {}
