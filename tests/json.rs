//! The derived JSON writer against serde_json on the same values: byte-identical, compact and
//! pretty, for every supported field type, and readable back with `#[derive(Deserialize)]`.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use metrics_core::{json, MetricsGroup};
use serde::{Deserialize, Serialize};

/// Every plain value type.
#[derive(MetricsGroup, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Scalars {
    a_u8: u8,
    a_u16: u16,
    a_u32: u32,
    #[metric(counter)]
    a_u64: u64,
    a_u128: u128,
    a_usize: usize,
    a_i8: i8,
    a_i16: i16,
    a_i32: i32,
    a_i64: i64,
    a_i128: i128,
    a_isize: isize,
    a_f32: f32,
    a_f64: f64,
    a_bool: bool,
    #[metric(unit = "s")]
    a_duration: Duration,
    maybe: Option<f64>,
    #[metric(skip)]
    note: String,
    #[metric(skip)]
    tags: Vec<String>,
    r#type: u32,
}

/// Maps, nesting and optional groups.
#[derive(MetricsGroup, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Composite {
    #[metric(counter, label = "tier")]
    by_tier: HashMap<String, u64>,
    #[metric(label = "queue")]
    by_queue: BTreeMap<String, f64>,
    #[metric(label = "host")]
    maybe_map: Option<HashMap<String, i32>>,
    inner: Scalars,
    maybe_inner: Option<Scalars>,
    #[metric(flatten)]
    flat: Flat,
    empty: Empty,
}

#[derive(MetricsGroup, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Flat {
    flat_value: u32,
}

#[derive(MetricsGroup, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Empty {}

/// A live struct of atomics.
#[derive(MetricsGroup, Serialize, Default)]
struct Live {
    #[metric(counter)]
    requests: AtomicU64,
    in_flight: AtomicUsize,
    balance: AtomicI64,
    temperature: AtomicI32,
    healthy: AtomicBool,
}

fn scalars(seed: u64) -> Scalars {
    let f = seed as f64;
    Scalars {
        a_u8: seed as u8,
        a_u16: u16::MAX - seed as u16,
        a_u32: seed as u32 * 7919,
        a_u64: u64::MAX - seed,
        a_u128: u128::MAX - u128::from(seed),
        a_usize: seed as usize,
        a_i8: i8::MIN.wrapping_add((seed % 100) as i8),
        a_i16: -(seed as i16),
        a_i32: i32::MIN,
        a_i64: i64::MIN + seed as i64,
        a_i128: i128::MIN,
        a_isize: -(seed as isize),
        a_f32: (f / 3.0) as f32,
        a_f64: f * 1e-7 + 0.1,
        a_bool: seed % 2 == 0,
        a_duration: Duration::new(seed, (seed * 1_000_003 % 1_000_000_000) as u32),
        maybe: (seed % 3 != 0).then_some(-f * 1e300),
        note: format!("quote \" backslash \\ newline \n tab \t bell \u{7} é {seed}"),
        tags: vec!["a".into(), format!("b{seed}")],
        r#type: seed as u32,
    }
}

fn composite(seed: u64) -> Composite {
    let mut by_tier = HashMap::new();
    for i in 0..(seed % 7) {
        by_tier.insert(format!("tier-{i}\"\u{1}\\"), seed * i);
    }
    let mut maybe_map = HashMap::new();
    maybe_map.insert("h\u{e9}".to_string(), -(seed as i32));
    Composite {
        by_tier,
        by_queue: (0..seed % 4)
            .map(|i| (format!("q{i}"), i as f64 / 7.0))
            .collect(),
        maybe_map: (seed % 2 == 0).then_some(maybe_map),
        inner: scalars(seed),
        maybe_inner: (seed % 2 == 1).then(|| scalars(seed + 1)),
        flat: Flat {
            flat_value: seed as u32,
        },
        empty: Empty {},
    }
}

fn assert_same<T: MetricsGroup + Serialize>(value: &T) {
    assert_eq!(
        String::from_utf8(json::to_vec(value).unwrap()).unwrap(),
        serde_json::to_string(value).unwrap(),
        "compact"
    );
    assert_eq!(
        json::to_string_pretty(value).unwrap(),
        serde_json::to_string_pretty(value).unwrap(),
        "pretty"
    );
}

#[test]
fn scalars_match_serde_json_compact_and_pretty() {
    for seed in 0..200 {
        assert_same(&scalars(seed));
    }
}

#[test]
fn special_floats_match_serde_json() {
    for special in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        f64::MIN_POSITIVE,
        f64::MAX,
        5e-324,
    ] {
        let mut value = scalars(1);
        value.a_f64 = special;
        value.a_f32 = special as f32;
        value.maybe = Some(special);
        assert_same(&value);
    }
}

/// `HashMap` entries in the map's iteration order, as serde_json writes them; `BTreeMap`
/// entries in key order.
#[test]
fn composite_with_hash_maps_matches_serde_json() {
    for seed in 0..60 {
        assert_same(&composite(seed));
    }
}

/// A map large enough that its iteration order is nothing like key order: the same bytes as
/// serde_json, entries in the map's iteration order and not sorted.
#[test]
fn large_hash_map_is_written_in_iteration_order() {
    let mut value = composite(0);
    value.by_tier = (0..5_000u64)
        .map(|i| (format!("worker-{i:05}"), i))
        .collect();
    assert_same(&value);

    let text = json::to_string(&value).unwrap();
    let iteration_order: Vec<&String> = value.by_tier.keys().collect();
    let positions: Vec<usize> = iteration_order
        .iter()
        .map(|key| text.find(&format!("\"{key}\"")).unwrap())
        .collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]));
    let mut key_order = iteration_order.clone();
    key_order.sort();
    assert_ne!(iteration_order, key_order, "the map iterates in key order");
}

#[test]
fn output_reads_back_with_serde_derive() {
    for seed in 0..40 {
        let value = composite(seed);
        for bytes in [
            json::to_vec(&value).unwrap(),
            json::to_vec_pretty(&value).unwrap(),
        ] {
            let back: Composite = serde_json::from_slice(&bytes).unwrap();
            // NaN never compares equal; these seeds produce none.
            assert_eq!(back, value);
        }
    }
}

#[test]
fn atomics_match_serde_json() {
    let live = Live::default();
    live.requests.store(u64::MAX, Ordering::Relaxed);
    live.in_flight.store(3, Ordering::Relaxed);
    live.balance.store(i64::MIN, Ordering::Relaxed);
    live.temperature.store(-40, Ordering::Relaxed);
    live.healthy.store(true, Ordering::Relaxed);
    assert_same(&live);
}

#[test]
fn writer_functions_agree() {
    let value = composite(5);
    let mut compact = Vec::new();
    json::to_writer(&mut compact, &value).unwrap();
    let mut pretty = Vec::new();
    json::to_writer_pretty(&mut pretty, &value).unwrap();
    assert_eq!(compact, json::to_vec(&value).unwrap());
    assert_eq!(compact, json::to_string(&value).unwrap().into_bytes());
    assert_eq!(pretty, json::to_vec_pretty(&value).unwrap());
    assert_eq!(pretty, json::to_string_pretty(&value).unwrap().into_bytes());
}

#[test]
fn writer_errors_are_reported() {
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let error = json::to_writer(Full, &composite(3)).unwrap_err();
    assert!(error.is_io());
    assert_eq!(error.io_error_kind(), Some(std::io::ErrorKind::StorageFull));
}
