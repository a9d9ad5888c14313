//! Heap allocations per export, counted by a global allocator: none for a JSON export into a
//! reused buffer once warm, and a reported count per OTLP collect.

#[path = "support/counting_allocator.rs"]
mod counting_allocator;
mod support;

#[path = "../benches/support/sdk_path.rs"]
mod sdk_path;

use std::collections::HashMap;

use counting_allocator::allocations;
use metrics_core::{json, DynMetricsGroup, MetricsConfig, MetricsGroup};

#[derive(MetricsGroup)]
struct Labeled {
    /// Requests per worker.
    #[metric(counter, label = "worker")]
    requests: HashMap<String, u64>,
}

/// Every way to write JSON into a caller's buffer, for `group`: after one warm-up export
/// (which sizes the buffer), further exports allocate
/// nothing.
fn assert_json_allocation_free<G: MetricsGroup + Send + Sync>(name: &str, group: &G) {
    let mut buffer = Vec::new();
    let export = |buffer: &mut Vec<u8>| {
        for pretty in [false, true] {
            buffer.clear();
            if pretty {
                json::to_writer_pretty(&mut *buffer, group).unwrap();
            } else {
                json::to_writer(&mut *buffer, group).unwrap();
            }
            buffer.clear();
            group.write_json_to(buffer, pretty).unwrap();
        }
    };
    export(&mut buffer);
    let count = allocations(|| {
        for _ in 0..10 {
            export(&mut buffer);
        }
    });
    assert_eq!(count, 0, "{name}: {count} allocations in 10 warm exports");
}

#[test]
fn json_export_into_a_reused_buffer_allocates_nothing_once_warm() {
    assert_json_allocation_free("example snapshot", &support::example_snapshot());
    let labeled = Labeled {
        requests: (0..1000).map(|i| (format!("worker-{i:04}"), i)).collect(),
    };
    assert_json_allocation_free("1,000-entry HashMap", &labeled);
}

/// Allocations per collect of the SDK path the OTLP encoder replaced
/// (`SdkPath::collect_without_sending` in benches/support/sdk_path.rs: load, collect, no
/// encoding or transport), the baseline of tests/otlp_allocations.rs, printed (`-- --nocapture`) and pinned to the counts measured
/// (the same in debug and release: `cargo test --release --all-features --test allocations
/// -- --nocapture`), so that any change shows: a rise is a regression, a fall updates the pin.
/// Most of them are the SDK's (data points, attribute vectors, the observable Sums'
/// trackers); labeled points add our label strings. The example's allocation-time histogram
/// and finished-agents map, empty here (no points), cost the SDK path one allocation per
/// collect in the reference (4 before them) and one in the example snapshot (24 before;
/// 21 and 6,020 for the 1,000 points were the pins before the label sets and histograms).
#[test]
fn otlp_collect_allocations_are_counted() {
    let exporter = sdk_path::SdkPath::new(&MetricsConfig::default());
    let full = support::example_snapshot();
    let reference = support::snapshot::MetricsSnapshot {
        compaction: None,
        ..full.clone()
    };
    let labeled = Labeled {
        requests: (0..1000).map(|i| (format!("worker-{i:04}"), i)).collect(),
    };
    let cases: [(&str, &dyn DynMetricsGroup, u64); 3] = [
        (
            "reference snapshot, compaction absent (19 points)",
            &reference,
            5,
        ),
        ("example snapshot (25 points, 3 labeled)", &full, 22),
        ("1,000 labeled points", &labeled, 6020),
    ];
    for (name, group, measured) in cases {
        let collect = || exporter.collect_without_sending(group, |_| ()).unwrap();
        collect();
        collect();
        let in_ten = allocations(|| {
            for _ in 0..10 {
                collect();
            }
        });
        println!("OTLP collect, {name}: {} allocations", in_ten as f64 / 10.0);
        assert_eq!(
            in_ten,
            10 * measured,
            "{name}: allocations in 10 collects, pinned to {measured} each"
        );
    }
}
