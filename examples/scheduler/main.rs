//! The example scheduler service: a simulated scheduler exporting its metrics snapshot every
//! second to `./metrics.json`, and over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set or a
//! configuration file asks for it.
//!
//! ```text
//! cargo run --example scheduler                      # until Ctrl-C
//! cargo run --example scheduler -- --duration 5      # five seconds
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 cargo run --example scheduler
//! cargo run --example scheduler -- --config metrics.json --output /tmp/m.json
//! cargo run --example scheduler -- --prometheus 127.0.0.1:9464   # also serve /metrics
//! cargo run --example scheduler -- --catalog         # the metrics catalog (Markdown)
//! cargo run --example scheduler -- --catalog-json    # the metrics catalog (JSON)
//! ```

mod simulation;
mod snapshot;
mod system;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use metrics_core::config::{FileMetricsConfig, PrometheusConfig};
use metrics_core::{catalog, create_exporter, MetricsConfig, Reporter};

use simulation::Simulation;
use snapshot::MetricsSnapshot;
use system::SystemSampler;

/// How long shutdown may take: stop, final export, exporter shutdown.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(15);

const USAGE: &str = "usage: scheduler [--duration SECONDS] [--output PATH] [--config PATH] [--prometheus ADDR] [--catalog | --catalog-json]";

/// What the command line asks for.
#[derive(Default)]
struct Args {
    duration: Option<Duration>,
    output: Option<PathBuf>,
    config: Option<PathBuf>,
    prometheus: Option<String>,
    catalog: bool,
    catalog_json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args::default();
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let mut value = |name: &str| words.next().ok_or(format!("{name} needs a value\n{USAGE}"));
        match word.as_str() {
            "--duration" => {
                let text = value("--duration")?;
                let seconds: f64 = text
                    .parse()
                    .map_err(|_| format!("--duration: `{text}` is not a number of seconds"))?;
                args.duration = Some(
                    Duration::try_from_secs_f64(seconds).map_err(|e| format!("--duration: {e}"))?,
                );
            }
            "--output" => args.output = Some(value("--output")?.into()),
            "--config" => args.config = Some(value("--config")?.into()),
            "--prometheus" => args.prometheus = Some(value("--prometheus")?),
            "--catalog" => args.catalog = true,
            "--catalog-json" => args.catalog_json = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    Ok(args)
}

/// The configuration: the file if given, else the service's own names and every second to
/// `./metrics.json`; then the `OTEL_*` variables; `--output` moves the file; `--prometheus`
/// adds the scrape endpoint.
fn config(args: &Args) -> Result<MetricsConfig, metrics_core::MetricsError> {
    let mut config = match &args.config {
        Some(path) => MetricsConfig::from_file(path)?,
        None => MetricsConfig {
            service_name: "symbiont-scheduler".to_owned(),
            service_namespace: Some("symbiont".to_owned()),
            export_interval_seconds: 1,
            file: Some(FileMetricsConfig::new("metrics.json")),
            ..MetricsConfig::default()
        },
    };
    if let Some(output) = &args.output {
        let file = config
            .file
            .get_or_insert_with(|| FileMetricsConfig::new(output));
        file.path = output.clone();
    }
    if let Some(listen) = &args.prometheus {
        config.prometheus = Some(PrometheusConfig {
            listen: listen.clone(),
        });
    }
    config.apply_env()?;
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if args.catalog {
        print!("{}", snapshot::catalog_document());
        return ExitCode::SUCCESS;
    }
    if args.catalog_json {
        println!("{}", catalog::json::<MetricsSnapshot>());
        return ExitCode::SUCCESS;
    }
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("scheduler: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args) -> Result<(), metrics_core::MetricsError> {
    let config = config(args)?;
    let exporter = create_exporter(&config)?;
    println!(
        "scheduler: exporting every {}s to {}; Ctrl-C stops",
        config.export_interval_seconds,
        exporter.name()
    );

    let started = Instant::now();
    let mut simulation = Simulation::new(0x5eed);
    let mut system = SystemSampler::new();
    let reporter = Reporter::from_config(exporter, &config)?
        .on_export(move |export| {
            let at = started.elapsed().as_secs_f64();
            let last = if export.is_final { " (final)" } else { "" };
            match export.result {
                Ok(()) => println!(
                    "[{at:7.2}s] export #{}{last}: ok in {:.1} ms",
                    export.number,
                    export.elapsed.as_secs_f64() * 1e3
                ),
                Err(error) => println!(
                    "[{at:7.2}s] export #{}{last}: FAILED: {error}",
                    export.number
                ),
            }
        })
        .start(move || simulation.snapshot(system.sample()));

    let stop = async {
        match args.duration {
            Some(duration) => tokio::time::sleep(duration).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = stop => {}
        signal = tokio::signal::ctrl_c() => {
            if let Err(error) = signal {
                eprintln!("scheduler: cannot listen for Ctrl-C: {error}");
            }
            println!();
        }
    }
    println!("scheduler: stopping; final export");
    reporter.shutdown(SHUTDOWN_DEADLINE).await
}
