//! `metrics_core::otlp`'s encoders against the JSON writer and against the SDK path.
//!
//! - `scale_{n}`: one group holding a `HashMap<String, u64>` counter of n entries (the
//!   `Labeled` group of benches/support), for n = 1,000, 10,000 and 100,000:
//!   `encode_protobuf` and `encode_json` against `metrics_core::json::to_writer` (the last
//!   routine, so the ratios are to it). Each group's throughput is n, so criterion's `thrpt`
//!   is points per second.
//! - `reference` (the 19 points of the reference snapshot, compaction absent) and
//!   `reference_with_compaction` (25 points): the encoders against what the SDK path does
//!   before it sends, `SdkPath::collect_without_sending` followed by
//!   opentelemetry-proto's conversion and prost's encoding (as in benches/otlp_collect.rs).
//! - `gzip`: gzip (flate2, default level, as the transports compress) of the protobuf
//!   request of the reference snapshot and of the 10,000-point map, after encoding it,
//!   against encoding alone.
//!
//! Every routine writes into a buffer it reuses. `cargo bench --bench otlp_encode`;
//! instruction counts: `scripts/callgrind.py otlp_encode --iters 20`.

mod support;

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use flate2::write::GzEncoder;
use metrics_core::otlp::{encode_json, encode_protobuf, OtlpContext};
use metrics_core::{DynMetricsGroup, MetricsConfig};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message;
use support::sdk_path::SdkPath;
use support::{Labeled, Routine};

const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// The resource `SdkPath::new` builds from the default configuration (no namespace).
fn context() -> OtlpContext {
    let config = MetricsConfig::default();
    let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut context = OtlpContext::new([("service.name", config.service_name)], start);
    context.set_time(start + Duration::from_secs(60));
    context
}

/// `encode_protobuf` of `group` into a reused buffer.
fn protobuf(group: impl DynMetricsGroup + 'static) -> impl FnMut() {
    let context = context();
    let mut body = Vec::new();
    move || {
        body.clear();
        encode_protobuf(black_box(&group), &context, &mut body);
        black_box(&body);
    }
}

/// `encode_json` of `group` into a reused buffer.
fn json(group: impl DynMetricsGroup + 'static) -> impl FnMut() {
    let context = context();
    let mut body = Vec::new();
    move || {
        body.clear();
        encode_json(black_box(&group), &context, &mut body);
        black_box(&body);
    }
}

/// `encode_protobuf` of `group`, then gzip of the request into a second reused buffer.
fn protobuf_gzip(group: impl DynMetricsGroup + 'static) -> impl FnMut() {
    let context = context();
    let mut body = Vec::new();
    let mut compressed = Vec::new();
    move || {
        body.clear();
        encode_protobuf(black_box(&group), &context, &mut body);
        compressed.clear();
        let mut gzip = GzEncoder::new(&mut compressed, flate2::Compression::default());
        gzip.write_all(&body).expect("a Vec grows");
        gzip.finish().expect("a Vec grows");
        black_box(&compressed);
    }
}

/// What the SDK path does before it sends: collect, convert, encode.
fn sdk(group: impl DynMetricsGroup + 'static) -> impl FnMut() {
    let exporter = SdkPath::new(&MetricsConfig::default());
    let mut body = Vec::new();
    move || {
        exporter
            .collect_without_sending(black_box(&group), |metrics| {
                body.clear();
                ExportMetricsServiceRequest::from(metrics)
                    .encode(&mut body)
                    .expect("a Vec grows");
            })
            .expect("collect");
        black_box(&body);
    }
}

fn labeled(n: usize) -> Labeled {
    Labeled {
        requests: support::entries(n).collect(),
    }
}

fn routines() -> Vec<Routine> {
    let mut routines = Vec::new();
    for n in SIZES {
        let group = format!("scale_{n}");
        routines.push(Routine::new(&group, "otlp_protobuf", protobuf(labeled(n))));
        routines.push(Routine::new(&group, "otlp_json", json(labeled(n))));
        let map = labeled(n);
        let mut buffer = Vec::new();
        routines.push(Routine::new(&group, "json", move || {
            buffer.clear();
            metrics_core::json::to_writer(&mut buffer, black_box(&map)).expect("a Vec grows");
            black_box(&buffer);
        }));
    }
    for (group, snapshot) in [
        (
            "reference",
            support::reference_snapshot_without_compaction(),
        ),
        ("reference_with_compaction", support::reference_snapshot()),
    ] {
        routines.push(Routine::new(
            group,
            "otlp_protobuf",
            protobuf(snapshot.clone()),
        ));
        routines.push(Routine::new(group, "otlp_json", json(snapshot.clone())));
        routines.push(Routine::new(group, "sdk_collect_encode", sdk(snapshot)));
    }
    let reference = support::reference_snapshot_without_compaction;
    routines.push(Routine::new(
        "gzip_reference",
        "otlp_protobuf_gzip",
        protobuf_gzip(reference()),
    ));
    routines.push(Routine::new(
        "gzip_reference",
        "otlp_protobuf",
        protobuf(reference()),
    ));
    routines.push(Routine::new(
        "gzip_10000",
        "otlp_protobuf_gzip",
        protobuf_gzip(labeled(10_000)),
    ));
    routines.push(Routine::new(
        "gzip_10000",
        "otlp_protobuf",
        protobuf(labeled(10_000)),
    ));
    routines
}

fn main() {
    support::main(routines, |name, group| {
        if let Some(n) = name.strip_prefix("scale_") {
            let n: u64 = n.parse().expect("a size");
            group.throughput(criterion::Throughput::Elements(n));
            if n >= 100_000 {
                group.sample_size(10);
            }
        }
    });
}
