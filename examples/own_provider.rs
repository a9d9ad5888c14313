//! A service that runs its own OpenTelemetry SDK pipeline: a histogram of its own, and a
//! derived group of live atomics registered on the same `Meter`; one PeriodicReader exports
//! both over OTLP.
//!
//! ```sh
//! cargo run --example own_provider --features otel-sdk                 # to http://127.0.0.1:4318
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 OTEL_EXPORTER_OTLP_PROTOCOL=grpc \
//!     cargo run --example own_provider --features otel-sdk -- --duration 10
//! ```

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_core::config::{OtlpConfig, OtlpProtocol};
use metrics_core::{MetricsConfig, MetricsGroup};
use opentelemetry::metrics::MeterProvider;

/// The worker's state, updated in place and read at each collection.
#[derive(MetricsGroup, Default)]
struct Worker {
    /// Jobs finished since start.
    #[metric(counter, unit = "{job}")]
    jobs_done: AtomicU64,
    /// Jobs being worked on.
    #[metric(up_down_counter, unit = "{job}")]
    jobs_in_flight: AtomicI64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let duration = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => Duration::from_secs(3),
        [flag, seconds] if flag == "--duration" => Duration::from_secs_f64(seconds.parse()?),
        _ => return Err("usage: own_provider [--duration SECONDS]".into()),
    };
    let mut config = MetricsConfig {
        export_interval_seconds: 1,
        service_name: "own-provider-example".into(),
        otlp: Some(OtlpConfig {
            protocol: OtlpProtocol::HttpBinary,
            ..OtlpConfig::new("http://127.0.0.1:4318")
        }),
        ..MetricsConfig::default()
    };
    config.apply_env()?;

    // gRPC's connections run on Tokio: keep a runtime entered for as long as the provider lives.
    let runtime = tokio::runtime::Runtime::new()?;
    let _entered = runtime.enter();
    let provider = metrics_core::otel::meter_provider(&config)?;
    let meter = provider.meter("own-provider-example");

    // The application's own instrument...
    let latency = meter
        .f64_histogram("job.duration")
        .with_unit("s")
        .with_description("Time to finish one job.")
        .build();
    // ...and the derived group, on the same meter: one snapshot per collection.
    let worker = Arc::new(Worker::default());
    let registration = metrics_core::otel::register_live(&meter, Arc::clone(&worker));
    for unbridged in registration.unbridged() {
        eprintln!("not exported: {}: {}", unbridged.name, unbridged.reason);
    }

    let end = Instant::now() + duration;
    while Instant::now() < end {
        let started = Instant::now();
        worker.jobs_in_flight.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(100));
        worker.jobs_in_flight.fetch_sub(1, Ordering::Relaxed);
        worker.jobs_done.fetch_add(1, Ordering::Relaxed);
        latency.record(started.elapsed().as_secs_f64(), &[]);
    }
    println!(
        "finished {} jobs; exporting the last collection",
        worker.jobs_done.load(Ordering::Relaxed)
    );
    // Exports the last collection; an unreachable collector is an error here, not a panic.
    if let Err(error) = provider.shutdown() {
        eprintln!("the last export failed: {error}");
    }
    Ok(())
}
