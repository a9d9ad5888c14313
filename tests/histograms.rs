//! Histograms: the recording math, concurrency, the schema, JSON against serde_json, OTLP
//! (decoded by opentelemetry-proto's prost types) and Prometheus (checked by `promtool`).
//! The receiver over the three protocols is in `otlp.rs`, the SDK-free JSON parse in
//! `otlp_encoding.rs`.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use metrics_core::otlp::{encode_protobuf, OtlpContext};
use metrics_core::schema::{MetricKind, ValueType};
use metrics_core::{
    json, prometheus, ExponentialHistogram, ExponentialHistogramSnapshot, Histogram,
    HistogramSnapshot, MetricsGroup,
};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use prost::Message;
use serde::{Deserialize, Serialize};

#[derive(MetricsGroup, Serialize)]
struct Api {
    /// Request latency.
    #[metric(unit = "s", buckets = [0.01, 0.1, 1, 10])]
    latency: Histogram,
    /// Response sizes, default bounds, accepted with its own kind keyword.
    #[metric(histogram, unit = "By")]
    size: Histogram,
    /// Latency by route.
    #[metric(unit = "s", label = "route", buckets = [-1, 0, 1])]
    by_route: BTreeMap<String, Histogram>,
    /// Queue wait, no tuning.
    #[metric(unit = "s")]
    wait: ExponentialHistogram,
}

fn api() -> Api {
    Api {
        latency: Histogram::with_bounds(Api::LATENCY_BUCKETS).unwrap(),
        size: Histogram::new(),
        by_route: BTreeMap::from([(
            "/users".to_owned(),
            Histogram::with_bounds(Api::BY_ROUTE_BUCKETS).unwrap(),
        )]),
        wait: ExponentialHistogram::new(),
    }
}

/// Snapshot types: a plain struct serde derives both ways.
#[derive(MetricsGroup, Serialize, Deserialize, Debug, PartialEq)]
struct Snapshot {
    #[metric(unit = "s", buckets = [0.01, 0.1, 1, 10])]
    latency: HistogramSnapshot,
    #[metric(unit = "s")]
    wait: ExponentialHistogramSnapshot,
}

#[test]
fn buckets_are_upper_inclusive_and_non_finite_values_are_ignored() {
    let histogram = Histogram::with_bounds(&[1.0, 2.0, 5.0]).unwrap();
    for value in [0.5, 1.0, 1.5, 2.0, 5.0, 5.0001, 100.0, -3.0] {
        histogram.record(value);
    }
    for ignored in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        histogram.record(ignored);
    }
    histogram.record_duration(Duration::from_millis(1500));
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.bucket_counts, [3, 3, 1, 2]);
    assert_eq!(snapshot.count, 9);
    assert_eq!(
        snapshot.sum,
        0.5 + 1.0 + 1.5 + 2.0 + 5.0 + 5.0001 + 100.0 - 3.0 + 1.5
    );
    assert_eq!((snapshot.min, snapshot.max), (Some(-3.0), Some(100.0)));
    let empty = Histogram::new().snapshot();
    assert_eq!((empty.count, empty.min, empty.max), (0, None, None));
    assert_eq!(empty.bounds, Histogram::DEFAULT_BOUNDS);
}

#[test]
fn bad_bounds_are_refused_at_run_time_too() {
    use metrics_core::BucketsProblem;
    assert_eq!(
        Histogram::with_bounds(&[]).unwrap_err(),
        BucketsProblem::Empty
    );
    assert_eq!(
        Histogram::with_bounds(&[1.0, 0.5]).unwrap_err(),
        BucketsProblem::NotIncreasing(1)
    );
    assert_eq!(
        Histogram::with_bounds(&[f64::NAN]).unwrap_err(),
        BucketsProblem::NotFinite(0)
    );
}

/// Two threads (and more) recording into one histogram lose no count and no part of the sum.
#[test]
fn concurrent_records_lose_nothing() {
    let histogram = Arc::new(Histogram::with_bounds(&[10.0, 100.0]).unwrap());
    let exponential = Arc::new(ExponentialHistogram::new());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let histogram = Arc::clone(&histogram);
            let exponential = Arc::clone(&exponential);
            std::thread::spawn(move || {
                for i in 0..50_000u32 {
                    // Integers: the sum is exact whatever the order of additions.
                    let value = f64::from((i + t) % 200);
                    histogram.record(value);
                    // A growing range, so that rescaling races with recording.
                    exponential.record(f64::from(i + 1) * f64::from(t + 1));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.count, 200_000);
    assert_eq!(snapshot.bucket_counts.iter().sum::<u64>(), 200_000);
    let expected_sum: u64 = (0..4u64)
        .map(|t| (0..50_000u64).map(|i| (i + t) % 200).sum::<u64>())
        .sum();
    assert_eq!(snapshot.sum, expected_sum as f64);
    let exponential = exponential.snapshot();
    assert_eq!(exponential.count, 200_000);
    assert_eq!(exponential.positive_counts.iter().sum::<u64>(), 200_000);
    assert_eq!(
        (exponential.min, exponential.max),
        (Some(1.0), Some(200_000.0))
    );
}

/// The exponential histogram lowers its scale until the range fits its buckets: values from
/// 1 to 2^k at scale s need 2^s * k buckets.
#[test]
fn exponential_histograms_downscale_as_the_range_grows() {
    let histogram = ExponentialHistogram::with_max_size(160);
    histogram.record(1.5);
    assert_eq!(histogram.snapshot().scale, 20);
    histogram.record(3.0);
    // 1.5 and 3 are one doubling apart: 2^s buckets, at most 160, so scale 7 (128).
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.scale, 7);
    assert_eq!(snapshot.positive_counts.iter().sum::<u64>(), 2);
    for value in [1e-3, 1e3, 1e6] {
        histogram.record(value);
    }
    // 1e-3 to 1e6 is about 30 doublings: 2^s * 30 <= 160 means scale 2.
    let snapshot = histogram.snapshot();
    assert_eq!(snapshot.scale, 2);
    assert!(snapshot.positive_counts.len() <= 160);
    assert_eq!(snapshot.count, 5);
    // Each value is in the bucket its index names: check through the exposition's bounds.
    let negative = ExponentialHistogram::new();
    for value in [-4.0, -1.0, 0.0, 0.0, 2.0] {
        negative.record(value);
    }
    let snapshot = negative.snapshot();
    assert_eq!(snapshot.zero_count, 2);
    assert_eq!(snapshot.negative_counts.iter().sum::<u64>(), 2);
    assert_eq!(snapshot.count, 5);
    // -4 and -1 are two doublings apart, as are 2 and 1/2 ... at scale 6: 128 buckets each.
    assert_eq!(snapshot.scale, 6);
}

#[test]
fn the_schema_and_catalog_show_kinds_and_bounds() {
    let metrics: Vec<_> = Api::SCHEMA.metrics().collect();
    let kinds: Vec<_> = metrics
        .iter()
        .map(|m| (m.descriptor.kind, m.descriptor.value_type))
        .collect();
    assert_eq!(
        kinds,
        [
            (MetricKind::Histogram, ValueType::Histogram),
            (MetricKind::Histogram, ValueType::Histogram),
            (MetricKind::Histogram, ValueType::Histogram),
            (
                MetricKind::ExponentialHistogram,
                ValueType::ExponentialHistogram
            ),
        ]
    );
    assert_eq!(metrics[0].descriptor.buckets, [0.01, 0.1, 1.0, 10.0]);
    assert_eq!(metrics[1].descriptor.buckets, Histogram::DEFAULT_BOUNDS);
    assert_eq!(metrics[2].descriptor.buckets, [-1.0, 0.0, 1.0]);
    assert!(metrics[3].descriptor.buckets.is_empty());
    let markdown = metrics_core::catalog::markdown::<Api>();
    assert!(
        markdown.contains("| `latency` | histogram `[0.01, 0.1, 1.0, 10.0]` | `s` |"),
        "{markdown}"
    );
    let catalog: serde_json::Value =
        serde_json::from_str(&metrics_core::catalog::json::<Api>()).unwrap();
    assert_eq!(
        catalog[0]["buckets"],
        serde_json::json!([0.01, 0.1, 1.0, 10.0])
    );
    assert_eq!(catalog[3]["kind"], "exponential_histogram");
    assert!(catalog[3].get("buckets").is_none());
}

#[test]
fn json_equals_serde_json_and_snapshots_read_back() {
    let api = api();
    api.latency.record(0.05);
    api.latency.record(3.0);
    api.by_route["/users"].record(-0.5);
    for value in [0.001, 0.002, 40.0, -1.0] {
        api.wait.record(value);
    }
    assert_eq!(
        json::to_string(&api).unwrap(),
        serde_json::to_string(&api).unwrap()
    );
    assert_eq!(
        json::to_string_pretty(&api).unwrap(),
        serde_json::to_string_pretty(&api).unwrap()
    );
    let snapshot = Snapshot {
        latency: api.latency.snapshot(),
        wait: api.wait.snapshot(),
    };
    for text in [
        json::to_string(&snapshot).unwrap(),
        json::to_string_pretty(&snapshot).unwrap(),
    ] {
        let back: Snapshot = serde_json::from_str(&text).unwrap();
        assert_eq!(back, snapshot);
    }
    assert_eq!(
        json::to_string(&snapshot).unwrap(),
        serde_json::to_string(&snapshot).unwrap()
    );
    let text = serde_json::to_string(&snapshot.latency).unwrap();
    assert_eq!(
        text,
        r#"{"bounds":[0.01,0.1,1.0,10.0],"bucket_counts":[0,1,0,1,0],"count":2,"sum":3.05,"min":0.05,"max":3.0}"#
    );
}

fn decode(group: &dyn metrics_core::DynMetricsGroup) -> ExportMetricsServiceRequest {
    let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut context = OtlpContext::new([("service.name", "histograms")], start);
    context.set_time(start + Duration::from_secs(60));
    let mut body = Vec::new();
    encode_protobuf(group, &context, &mut body);
    ExportMetricsServiceRequest::decode(&body[..]).unwrap()
}

#[test]
fn otlp_carries_histogram_points() {
    let api = api();
    for value in [0.005, 0.05, 0.5, 5.0, 50.0] {
        api.latency.record(value);
    }
    api.by_route["/users"].record(0.5);
    for value in [-2.0, 0.0, 1.0, 1.0, 4.0] {
        api.wait.record(value);
    }
    let request = decode(&api);
    let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
    // `size` has no records, and is a point all the same (count 0): it exists.
    assert_eq!(metrics.len(), 4);
    let Some(Data::Histogram(latency)) = &metrics[0].data else {
        panic!("{:?}", metrics[0]);
    };
    assert_eq!(metrics[0].unit, "s");
    assert_eq!(latency.aggregation_temporality, 2);
    let point = &latency.data_points[0];
    assert_eq!(point.explicit_bounds, [0.01, 0.1, 1.0, 10.0]);
    assert_eq!(point.bucket_counts, [1, 1, 1, 1, 1]);
    assert_eq!(point.count, 5);
    assert_eq!(point.sum, Some(0.005 + 0.05 + 0.5 + 5.0 + 50.0));
    assert_eq!((point.min, point.max), (Some(0.005), Some(50.0)));
    assert_eq!(point.start_time_unix_nano, 1_700_000_000_000_000_000);
    assert_eq!(point.time_unix_nano, 1_700_000_060_000_000_000);
    let Some(Data::Histogram(by_route)) = &metrics[2].data else {
        panic!("{:?}", metrics[2]);
    };
    let point = &by_route.data_points[0];
    assert_eq!(point.attributes[0].key, "route");
    assert_eq!(point.bucket_counts, [0, 0, 1, 0]);
    let Some(Data::ExponentialHistogram(wait)) = &metrics[3].data else {
        panic!("{:?}", metrics[3]);
    };
    assert_eq!(wait.aggregation_temporality, 2);
    let point = &wait.data_points[0];
    assert_eq!((point.count, point.zero_count), (5, 1));
    assert_eq!(point.sum, Some(4.0));
    assert_eq!((point.min, point.max), (Some(-2.0), Some(4.0)));
    let positive = point.positive.as_ref().unwrap();
    let negative = point.negative.as_ref().unwrap();
    assert_eq!(positive.bucket_counts.iter().sum::<u64>(), 3);
    assert_eq!(negative.bucket_counts.iter().sum::<u64>(), 1);
    // 1 and 4 are powers of two, the upper bounds of buckets (1 << scale) * k - 1: the first
    // positive bucket is 1's, the last 4's.
    let scale = point.scale;
    assert_eq!(positive.offset, -1);
    assert_eq!(
        positive.offset + positive.bucket_counts.len() as i32 - 1,
        (2 << scale) - 1
    );
    assert_eq!(negative.offset, (1 << scale) - 1);
}

#[test]
fn prometheus_writes_cumulative_buckets_and_promtool_accepts_them() {
    let api = api();
    for value in [0.005, 0.05, 0.5, 5.0, 50.0] {
        api.latency.record(value);
    }
    api.by_route["/users"].record(-0.5);
    for value in [-2.0, 0.0, 1e-3, 1.0, 4.0, 1e6] {
        api.wait.record(value);
    }
    let mut text = Vec::new();
    prometheus::to_writer(&api, &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    let expected = concat!(
        "# HELP latency_seconds Request latency.\n",
        "# TYPE latency_seconds histogram\n",
        "latency_seconds_bucket{le=\"0.01\"} 1\n",
        "latency_seconds_bucket{le=\"0.1\"} 2\n",
        "latency_seconds_bucket{le=\"1.0\"} 3\n",
        "latency_seconds_bucket{le=\"10.0\"} 4\n",
        "latency_seconds_bucket{le=\"+Inf\"} 5\n",
        "latency_seconds_sum 55.555\n",
        "latency_seconds_count 5\n",
    );
    assert!(text.starts_with(expected), "{text}");
    for line in [
        "by_route_seconds_bucket{route=\"/users\",le=\"-1.0\"} 0\n",
        "by_route_seconds_bucket{route=\"/users\",le=\"0.0\"} 1\n",
        "by_route_seconds_count{route=\"/users\"} 1\n",
        "# TYPE wait_seconds histogram\n",
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    // The exponential histogram's `le` values increase and its counts accumulate.
    let buckets: Vec<(f64, u64)> = text
        .lines()
        .filter_map(|line| line.strip_prefix("wait_seconds_bucket{le=\""))
        .map(|rest| {
            let (le, count) = rest.split_once("\"} ").unwrap();
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (le, count.parse().unwrap())
        })
        .collect();
    assert!(
        buckets
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
        "{buckets:?}"
    );
    assert_eq!(buckets.last(), Some(&(f64::INFINITY, 6)));
    assert!(
        buckets.iter().any(|&(le, count)| le == 0.0 && count == 2),
        "{buckets:?}"
    );
    for format in [prometheus::Format::Text, prometheus::Format::OpenMetrics] {
        let mut out = Vec::new();
        prometheus::to_writer_with(&api, format, &mut out).unwrap();
        let findings = support::promtool::promtool_findings(&out);
        assert!(
            findings.trim().is_empty(),
            "{format:?}: {findings}\n{}",
            String::from_utf8_lossy(&out)
        );
    }
}

/// Recording allocates nothing once the histogram exists and this thread has recorded into
/// it (its first record makes the thread's shard: one allocation for a `Histogram`, two for
/// an `ExponentialHistogram`, plus the thread's first use of any per-thread storage),
/// rescaling included.
#[test]
fn recording_allocates_nothing() {
    let histogram = Histogram::new();
    let exponential = ExponentialHistogram::new();
    histogram.record(1.0);
    exponential.record(1.0);
    let first = counting_allocator::allocations(|| {
        Histogram::new().record(1.0);
        ExponentialHistogram::new().record(1.0);
    });
    assert!(first <= 3 + 6, "{first} allocations for two first records");
    let count = counting_allocator::allocations(|| {
        for i in 0..10_000 {
            histogram.record(f64::from(i) / 100.0);
            exponential.record(f64::from(i) * 1.7 - 5000.0);
        }
    });
    assert_eq!(count, 0);
}

/// A reader snapshotting while two threads record (the exponential one rescaling as its
/// range grows) always sees a consistent point: the count is the buckets' total, it never
/// goes down, the scale only goes down; and once the writers are done, nothing is missing.
#[test]
fn reads_during_records_are_consistent() {
    let histogram = Arc::new(Histogram::with_bounds(&[1.0, 1e3]).unwrap());
    let exponential = Arc::new(ExponentialHistogram::with_max_size(20));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..2u32)
        .map(|t| {
            let (histogram, exponential) = (Arc::clone(&histogram), Arc::clone(&exponential));
            std::thread::spawn(move || {
                for i in 0..100_000u32 {
                    let value = f64::from(i + 1) * if t == 0 { 1.0 } else { -1e-3 };
                    histogram.record(value);
                    exponential.record(value);
                    if i % 1000 == 0 {
                        exponential.record(0.0);
                    }
                }
            })
        })
        .collect();
    let reader = {
        let (histogram, exponential, done) = (
            Arc::clone(&histogram),
            Arc::clone(&exponential),
            Arc::clone(&done),
        );
        std::thread::spawn(move || {
            let (mut reads, mut last_count, mut last_scale) = (0u32, 0, 20);
            while !done.load(std::sync::atomic::Ordering::Acquire) || reads == 0 {
                let point = exponential.snapshot();
                let buckets: u64 = point.positive_counts.iter().sum::<u64>()
                    + point.negative_counts.iter().sum::<u64>()
                    + point.zero_count;
                assert_eq!(point.count, buckets);
                assert!(point.positive_counts.len() <= 20 && point.negative_counts.len() <= 20);
                assert!(point.count >= last_count && point.scale <= last_scale);
                (last_count, last_scale) = (point.count, point.scale);
                let explicit = histogram.snapshot();
                assert_eq!(explicit.count, explicit.bucket_counts.iter().sum::<u64>());
                reads += 1;
            }
            reads
        })
    };
    for writer in writers {
        writer.join().unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Release);
    assert!(reader.join().unwrap() > 0);
    let point = exponential.snapshot();
    assert_eq!(point.count, 200_200);
    assert_eq!(point.zero_count, 200);
    assert_eq!(point.positive_counts.iter().sum::<u64>(), 100_000);
    assert_eq!((point.min, point.max), (Some(-100.0), Some(100_000.0)));
    assert_eq!(histogram.snapshot().bucket_counts, [100_001, 999, 99_000]);
}

/// A read never sees an exponential histogram's buckets half moved: while one thread
/// records values that keep moving its buckets (4 per sign, a range growing both ways),
/// every snapshot counts at least the records published before it and at most one more
/// than those published after it. A copy taken while the buckets move would count some
/// twice or not at all.
#[test]
fn reads_never_see_buckets_half_moved() {
    use std::sync::atomic::{AtomicU64, Ordering};
    for _round in 0..200 {
        let histogram = Arc::new(ExponentialHistogram::with_max_size(4));
        let published = Arc::new(AtomicU64::new(0));
        let writer = {
            let (histogram, published) = (Arc::clone(&histogram), Arc::clone(&published));
            std::thread::spawn(move || {
                for i in 1..=2_000u32 {
                    // 1.37 * 2^e, e growing away from 0 both ways: finite throughout.
                    let exponent = (i % 1000) as i32 / 2 * if i % 4 < 2 { 1 } else { -1 };
                    let value = 1.37 * 2f64.powi(exponent) * if i % 2 == 0 { 1.0 } else { -1.0 };
                    histogram.record(value);
                    published.store(u64::from(i), Ordering::Release);
                }
            })
        };
        while !writer.is_finished() {
            let before = published.load(Ordering::Acquire);
            let count = histogram.snapshot().count;
            let after = published.load(Ordering::Acquire);
            assert!(
                before <= count && count <= after + 1,
                "{before} <= {count} <= {after} + 1"
            );
        }
        writer.join().unwrap();
        assert_eq!(histogram.snapshot().count, 2_000);
    }
}

/// Counts recorded by a thread that has since exited stay in the histogram, and a thread
/// started later (which may reuse the exited one's shard) adds to them.
#[test]
fn counts_outlive_the_threads_that_recorded_them() {
    let histogram = Arc::new(Histogram::with_bounds(&[10.0]).unwrap());
    let exponential = Arc::new(ExponentialHistogram::new());
    for round in 0..8 {
        let (histogram, exponential) = (Arc::clone(&histogram), Arc::clone(&exponential));
        std::thread::spawn(move || {
            histogram.record(f64::from(round));
            exponential.record(2f64.powi(round));
        })
        .join()
        .unwrap();
    }
    let snapshot = histogram.snapshot();
    assert_eq!((snapshot.count, snapshot.sum), (8, 28.0));
    let exponential = exponential.snapshot();
    assert_eq!(exponential.count, 8);
    assert_eq!((exponential.min, exponential.max), (Some(1.0), Some(128.0)));
}

#[path = "support/counting_allocator.rs"]
mod counting_allocator;

/// The sizes README states: about 530 bytes before the first record (thread_local's table
/// of per-thread shards).
#[test]
fn an_unrecorded_histogram_is_about_530_bytes() {
    for size in [
        std::mem::size_of::<Histogram>(),
        std::mem::size_of::<ExponentialHistogram>(),
    ] {
        assert!((512..=544).contains(&size), "{size} bytes");
    }
}

/// Shards merge to what one histogram fed every value in one thread holds: the same scale,
/// offsets and bucket counts, whichever thread recorded which value.
#[test]
fn shards_merge_to_what_one_thread_would_record() {
    let value = |i: u32| {
        let magnitude = 1.0001f64.powi(i as i32) * 1e-3;
        if i % 3 == 0 {
            -magnitude
        } else {
            magnitude
        }
    };
    let one = ExponentialHistogram::with_max_size(40);
    (0..4000).for_each(|i| one.record(value(i)));
    let sharded = Arc::new(ExponentialHistogram::with_max_size(40));
    let threads: Vec<_> = (0..4u32)
        .map(|t| {
            let sharded = Arc::clone(&sharded);
            // Each thread gets a quarter of the range: its shard keeps a finer scale than
            // the whole range allows, which the merge has to lower.
            std::thread::spawn(move || {
                (t * 1000..(t + 1) * 1000).for_each(|i| sharded.record(value(i)))
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let (one, sharded) = (one.snapshot(), sharded.snapshot());
    assert_eq!(one.count, 4000);
    assert_eq!(
        (
            one.scale,
            one.positive_offset,
            &one.positive_counts,
            one.negative_offset,
            &one.negative_counts
        ),
        (
            sharded.scale,
            sharded.positive_offset,
            &sharded.positive_counts,
            sharded.negative_offset,
            &sharded.negative_counts
        ),
    );
    assert_eq!(
        (one.min, one.max, one.count),
        (sharded.min, sharded.max, sharded.count)
    );
}

/// Histograms stay usable wherever their atomics were: shared across threads and inside
/// `catch_unwind`.
#[test]
fn histograms_are_send_sync_and_unwind_safe() {
    fn check<T: Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    check::<Histogram>();
    check::<ExponentialHistogram>();
}
