use metrics_core::MetricsGroup;

#[derive(MetricsGroup)]
#[metrics(
    prefix = "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
)]
struct Requests {
    #[metric(
        rename = "tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"
    )]
    total: u64,
}

fn main() {}
