//! Cost per point as one group's labeled map grows: 1,000, 10,000 and 100,000 entries of a
//! `HashMap<String, u64>` counter (the `Labeled` group of benches/support).
//!
//! - `json_{n}`: `metrics_core::json::to_writer` and `serde_json::to_writer`, both writing
//!   the entries in the map's iteration order, into a reused buffer.
//! - `otlp_{n}`: `SdkPath::collect_without_sending` (benches/support/sdk_path.rs) followed by the HTTP/protobuf
//!   encoding, as in benches/otlp_collect.rs.
//!
//! Each group reports its size as criterion's throughput, so the `thrpt` line is points per
//! second; BENCHMARKS.md divides the medians by the sizes.
//!
//! `cargo bench --bench scale`; instruction counts:
//! `scripts/callgrind.py scale --iters 5`.

mod support;

use std::hint::black_box;

use metrics_core::MetricsConfig;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message;
use support::sdk_path::SdkPath;
use support::{Labeled, Routine};

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn routines() -> Vec<Routine> {
    let mut routines = Vec::new();
    for n in SIZES {
        let group = Labeled {
            requests: support::entries(n).collect(),
        };
        assert_eq!(
            metrics_core::json::to_vec(&group).unwrap(),
            serde_json::to_vec(&group).unwrap()
        );
        let mut buffer = Vec::new();
        let ours = group.clone();
        routines.push(Routine::new(
            format!("json_{n}"),
            "metrics_core",
            move || {
                buffer.clear();
                metrics_core::json::to_writer(&mut buffer, black_box(&ours)).unwrap();
                black_box(&buffer);
            },
        ));
        let mut buffer = Vec::new();
        let theirs = group.clone();
        routines.push(Routine::new(format!("json_{n}"), "serde_json", move || {
            buffer.clear();
            serde_json::to_writer(&mut buffer, black_box(&theirs)).unwrap();
            black_box(&buffer);
        }));

        let exporter = SdkPath::new(&MetricsConfig::default());
        // The first collect raises the instrument's cardinality limit to fit the map.
        exporter.collect_without_sending(&group, |_| ()).unwrap();
        let mut body = Vec::new();
        routines.push(Routine::new(
            format!("otlp_{n}"),
            "metrics_core",
            move || {
                exporter
                    .collect_without_sending(black_box(&group), |metrics| {
                        body.clear();
                        ExportMetricsServiceRequest::from(metrics)
                            .encode(&mut body)
                            .unwrap();
                    })
                    .unwrap();
                black_box(&body);
            },
        ));
    }
    routines
}

fn main() {
    support::main(routines, |name, group| {
        let n: u64 = name.rsplit('_').next().unwrap().parse().unwrap();
        group.throughput(criterion::Throughput::Elements(n));
        if n >= 100_000 {
            group.sample_size(10);
        }
    });
}
