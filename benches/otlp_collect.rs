//! The collect-and-encode stage of an OTLP export of the reference snapshot, against the
//! hand-written exporter it replaces, on the same SDK (opentelemetry_sdk 0.33).
//!
//! - `metrics_core`: `SdkPath::collect_without_sending` (benches/support/sdk_path.rs), the
//!   SDK path that `crate::otlp`'s encoder is measured against: the snapshot's values are
//!   loaded into the group's pipeline and a manual reader collects them through the observable
//!   instruments' callbacks.
//! - `hand_written`: what the reference service did, 19 synchronous `f64` gauges created once,
//!   each export recording the 19 values by hand (no attributes), then a collect of a
//!   cumulative manual reader on a provider with the same resource, into a `ResourceMetrics`
//!   reused from one collect to the next as the SDK's periodic reader (which the reference
//!   used) reuses it.
//!
//! Both then encode the `ResourceMetrics` to the protobuf request body exactly as
//! opentelemetry-otlp's HTTP/protobuf transport does (`ExportMetricsServiceRequest::from`,
//! `prost::Message::encode`), into a reused buffer. The snapshot has its compaction group
//! absent, so both produce the same 19 data points; `with_compaction` shows the cost of the
//! four metrics (six points) the hand-written exporter never sent, and `collect_only` the
//! two without encoding. `hand_written_described` gives the 19 gauges the units and
//! descriptions ours carry (the reference sent none), which the encoding pays for.
//!
//! `cargo bench --bench otlp_collect`; instruction counts: `scripts/callgrind.py otlp_collect`.

mod support;

use std::hint::black_box;
use std::sync::{Arc, Weak};
use std::time::Duration;

use metrics_core::{MetricsConfig, MetricsGroup};
use opentelemetry::metrics::{Gauge, MeterProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Temporality,
};
use opentelemetry_sdk::Resource;
use prost::Message;
use support::sdk_path::SdkPath;
use support::snapshot::MetricsSnapshot;
use support::Routine;

/// The protobuf body of the request, as the HTTP/protobuf transport encodes it.
fn encode(metrics: &ResourceMetrics, body: &mut Vec<u8>) {
    body.clear();
    ExportMetricsServiceRequest::from(metrics)
        .encode(body)
        .expect("a Vec grows");
}

/// Our exporter, pointed at an endpoint it is never asked to send to.
fn exporter() -> SdkPath {
    SdkPath::new(&MetricsConfig::default())
}

/// The same resource as `SdkPath::new` builds from the default configuration.
fn resource() -> Resource {
    let config = MetricsConfig::default();
    Resource::builder_empty()
        .with_service_name(config.service_name.clone())
        .with_attributes(
            config
                .service_namespace
                .map(|namespace| KeyValue::new("service.namespace", namespace)),
        )
        .build()
}

/// The reference service's exporter: 19 gauges recorded by hand.
struct HandWritten {
    reader: SharedReader,
    /// Refilled at each collect, as the SDK's periodic reader the reference used does.
    collected: ResourceMetrics,
    _provider: SdkMeterProvider,
    gauges: Vec<Gauge<f64>>,
}

impl HandWritten {
    /// `described`: with the units and descriptions our schema gives the same metrics, which
    /// the reference never sent.
    fn new(described: bool) -> Self {
        let reader = SharedReader(Arc::new(
            ManualReader::builder()
                .with_temporality(Temporality::Cumulative)
                .build(),
        ));
        let provider = SdkMeterProvider::builder()
            .with_reader(reader.clone())
            .with_resource(resource())
            .build();
        let meter = provider.meter("metrics-core");
        let schema: Vec<_> = MetricsSnapshot::SCHEMA.metrics().collect();
        let gauges = NAMES
            .iter()
            .map(|&name| {
                let gauge = meter.f64_gauge(name);
                if !described {
                    return gauge.build();
                }
                let metric = schema.iter().find(|m| m.name == name).expect("in schema");
                gauge
                    .with_unit(metric.descriptor.unit)
                    .with_description(metric.descriptor.description)
                    .build()
            })
            .collect();
        HandWritten {
            reader,
            collected: ResourceMetrics::default(),
            _provider: provider,
            gauges,
        }
    }

    fn record(&self, s: &MetricsSnapshot) {
        let values = [
            s.scheduler.total_scheduled as f64,
            s.scheduler.uptime_seconds as f64,
            s.scheduler.running_agents as f64,
            s.scheduler.queued_agents as f64,
            s.scheduler.suspended_agents as f64,
            s.scheduler.max_capacity as f64,
            s.scheduler.load_factor,
            s.task_manager.total_tasks as f64,
            s.task_manager.healthy_tasks as f64,
            s.task_manager.average_uptime_seconds,
            s.task_manager.total_memory_usage as f64,
            s.load_balancer.total_allocations as f64,
            s.load_balancer.active_allocations as f64,
            s.load_balancer.memory_utilization,
            s.load_balancer.cpu_utilization,
            s.load_balancer.allocation_failures as f64,
            s.load_balancer.average_allocation_time_ms,
            s.system.memory_usage_mb,
            s.system.cpu_usage_percent,
        ];
        for (gauge, value) in self.gauges.iter().zip(values) {
            gauge.record(value, &[]);
        }
    }

    fn collect(&mut self) -> &ResourceMetrics {
        self.reader.collect(&mut self.collected).expect("collect");
        &self.collected
    }
}

/// The names the reference exporter registered.
const NAMES: [&str; 19] = [
    "scheduler.total_scheduled",
    "scheduler.uptime_seconds",
    "scheduler.running_agents",
    "scheduler.queued_agents",
    "scheduler.suspended_agents",
    "scheduler.max_capacity",
    "scheduler.load_factor",
    "task_manager.total_tasks",
    "task_manager.healthy_tasks",
    "task_manager.average_uptime_seconds",
    "task_manager.total_memory_usage",
    "load_balancer.total_allocations",
    "load_balancer.active_allocations",
    "load_balancer.memory_utilization",
    "load_balancer.cpu_utilization",
    "load_balancer.allocation_failures",
    "load_balancer.average_allocation_time_ms",
    "system.memory_usage_mb",
    "system.cpu_usage_percent",
];

/// A `ManualReader` the provider owns while the bench keeps a handle to collect with.
#[derive(Debug, Clone)]
struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, metrics: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(metrics)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

/// The data points of a collect.
fn points(metrics: &ResourceMetrics) -> usize {
    let request = ExportMetricsServiceRequest::from(metrics);
    let metrics = request
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics);
    let metrics = metrics.flat_map(|s| &s.metrics);
    metrics
        .map(|m| {
            use opentelemetry_proto::tonic::metrics::v1::metric::Data;
            match &m.data {
                Some(Data::Gauge(g)) => g.data_points.len(),
                Some(Data::Sum(s)) => s.data_points.len(),
                _ => 0,
            }
        })
        .sum()
}

/// Our collect-and-encode routine for `group`, after checking it yields `expected` points.
fn ours(
    group: &str,
    name: &'static str,
    snapshot: MetricsSnapshot,
    expected: usize,
    encoded: bool,
) -> Routine {
    let exporter = exporter();
    let collected = exporter
        .collect_without_sending(&snapshot, points)
        .expect("collect");
    assert_eq!(collected, expected, "{group}/{name}");
    let mut body = Vec::new();
    Routine::new(group, name, move || {
        exporter
            .collect_without_sending(black_box(&snapshot), |metrics| {
                if encoded {
                    encode(metrics, &mut body);
                }
                black_box(metrics);
            })
            .expect("collect");
        black_box(&body);
    })
}

fn hand_written(
    group: &str,
    name: &'static str,
    snapshot: MetricsSnapshot,
    encoded: bool,
) -> Routine {
    let mut exporter = HandWritten::new(name == "hand_written_described");
    exporter.record(&snapshot);
    assert_eq!(points(exporter.collect()), 19, "{group}/{name}");
    let mut body = Vec::new();
    Routine::new(group, name, move || {
        exporter.record(black_box(&snapshot));
        let metrics = exporter.collect();
        if encoded {
            encode(metrics, &mut body);
        }
        black_box(metrics);
        black_box(&body);
    })
}

fn routines() -> Vec<Routine> {
    let snapshot = support::reference_snapshot_without_compaction;
    vec![
        ours("collect_encode", "metrics_core", snapshot(), 19, true),
        hand_written("collect_encode", "hand_written_described", snapshot(), true),
        hand_written("collect_encode", "hand_written", snapshot(), true),
        ours("collect_only", "metrics_core", snapshot(), 19, false),
        hand_written("collect_only", "hand_written_described", snapshot(), false),
        hand_written("collect_only", "hand_written", snapshot(), false),
        ours(
            "with_compaction",
            "metrics_core",
            support::reference_snapshot(),
            25,
            true,
        ),
    ]
}

fn main() {
    support::main(routines, |_, _| {});
}
