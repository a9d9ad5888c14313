//! `metrics_core::json::to_writer` against `serde_json::to_writer` on the same value, each
//! into a reused buffer, the documents checked byte-identical first.
//!
//! Groups: `reference_snapshot` (the example service's five structs, three-entry map),
//! `wide_200` (200 fields of every kind), `map_1000_btree` (1,000 labeled entries in a
//! `BTreeMap`, which both write in key order), and `map_1000_hash` (the same entries in a
//! `HashMap`, which both write in its iteration order).
//!
//! `cargo bench --bench json_encode`; instruction counts: `scripts/callgrind.py json_encode`.

mod support;

use std::hint::black_box;

use metrics_core::MetricsGroup;
use serde::Serialize;
use support::{Labeled, LabeledSorted, Routine};

/// The two routines of one group, after checking that metrics-core writes `expected`,
/// serde_json's document of the same value.
fn compare<T, S>(group: &str, value: T, serde_value: S, expected: &[u8]) -> [Routine; 2]
where
    T: MetricsGroup + 'static,
    S: Serialize + 'static,
{
    let ours = metrics_core::json::to_vec(&value).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(expected),
        "{group}: documents differ"
    );
    let mut buffer = Vec::with_capacity(ours.len());
    let mut serde_buffer = Vec::with_capacity(ours.len());
    [
        Routine::new(group, "metrics_core", move || {
            buffer.clear();
            metrics_core::json::to_writer(&mut buffer, black_box(&value)).unwrap();
            black_box(&buffer);
        }),
        Routine::new(group, "serde_json", move || {
            serde_buffer.clear();
            serde_json::to_writer(&mut serde_buffer, black_box(&serde_value)).unwrap();
            black_box(&serde_buffer);
        }),
    ]
}

fn routines() -> Vec<Routine> {
    let reference = support::reference_snapshot();
    let wide = support::wide::Wide::sample(7);
    let sorted = LabeledSorted {
        requests: support::entries(1000).collect(),
    };
    let hashed = Labeled {
        requests: support::entries(1000).collect(),
    };
    [
        compare(
            "reference_snapshot",
            reference.clone(),
            reference.clone(),
            &serde_json::to_vec(&reference).unwrap(),
        ),
        compare(
            "wide_200",
            wide.clone(),
            wide.clone(),
            &serde_json::to_vec(&wide).unwrap(),
        ),
        compare(
            "map_1000_btree",
            sorted.clone(),
            sorted.clone(),
            &serde_json::to_vec(&sorted).unwrap(),
        ),
        compare(
            "map_1000_hash",
            hashed.clone(),
            hashed.clone(),
            &serde_json::to_vec(&hashed).unwrap(),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn main() {
    support::main(routines, |_, _| {});
}
