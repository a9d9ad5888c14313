//! Sends what was kept on disk to an OTLP endpoint, with the original timestamps:
//!
//! ```sh
//! cargo run --example replay -- metrics.jsonl --endpoint http://127.0.0.1:4318/v1/metrics
//! cargo run --example replay -- /var/spool/metrics --endpoint http://127.0.0.1:4317 --protocol grpc
//! ```
//!
//! A file is OTLP/JSON lines (the file exporter's `format: "otlp_json"`), one request a line,
//! sent as is over HTTP/JSON (the only protocol that carries them unchanged). A directory is an
//! OTLP spool (`otlp.spool.dir`): its entries are sent oldest first and removed once delivered,
//! as the exporter itself would (under the spool's lock, so a running exporter on the same
//! directory never sends one twice); entries in another encoding than `--protocol` sends are
//! left and counted. Exits with 1 on the first failure, saying which line or how many are left.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use metrics_core::config::{OtlpConfig, OtlpProtocol, SpoolConfig};
use metrics_core::export::{OtlpEncoding, OtlpExporter};
use metrics_core::MetricsConfig;

struct Args {
    source: PathBuf,
    endpoint: String,
    protocol: Option<OtlpProtocol>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut source, mut endpoint, mut protocol) = (None, None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--endpoint" => endpoint = Some(args.next().ok_or("--endpoint needs a URL")?),
            "--protocol" => {
                let value = args.next().ok_or("--protocol needs a value")?;
                protocol = Some(match value.as_str() {
                    "grpc" => OtlpProtocol::Grpc,
                    "http/protobuf" => OtlpProtocol::HttpBinary,
                    "http/json" => OtlpProtocol::HttpJson,
                    _ => {
                        return Err(format!(
                            "unknown protocol {value:?}: grpc, http/protobuf or http/json"
                        ))
                    }
                });
            }
            _ if source.is_none() && !arg.starts_with("--") => source = Some(PathBuf::from(arg)),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    Ok(Args {
        source: source.ok_or("name a file of OTLP/JSON lines or a spool directory")?,
        endpoint: endpoint.ok_or("--endpoint URL is required")?,
        protocol,
    })
}

fn exporter(
    args: &Args,
    protocol: OtlpProtocol,
    spool: Option<SpoolConfig>,
) -> Result<OtlpExporter, String> {
    let otlp = OtlpConfig {
        protocol,
        spool,
        ..OtlpConfig::new(args.endpoint.clone())
    };
    OtlpExporter::new(&MetricsConfig::default(), &otlp).map_err(|e| e.to_string())
}

/// Sends each line of `file`; returns how many.
async fn replay_file(args: &Args, file: &Path) -> Result<usize, String> {
    let protocol = args.protocol.unwrap_or(OtlpProtocol::HttpJson);
    if protocol != OtlpProtocol::HttpJson {
        return Err(format!(
            "a file of OTLP/JSON lines is sent over http/json, not {protocol}"
        ));
    }
    let exporter = exporter(args, protocol, None)?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut sent = 0;
    for (number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        exporter
            .send_encoded(OtlpEncoding::Json, line.as_bytes().to_vec())
            .await
            .map_err(|e| format!("line {}: {e}", number + 1))?;
        sent += 1;
    }
    Ok(sent)
}

/// Sends a spool directory's entries until none of `--protocol`'s encoding is left; returns
/// how many were sent.
async fn replay_spool(args: &Args, dir: &Path) -> Result<usize, String> {
    let protocol = args.protocol.unwrap_or(OtlpProtocol::Grpc);
    // Limits that drop nothing: a replay sends what is there.
    let spool = SpoolConfig {
        max_bytes: u64::MAX,
        max_age_seconds: u64::MAX / 4,
        ..SpoolConfig::new(dir)
    };
    let exporter = exporter(args, protocol, Some(spool))?;
    let mut left = usize::MAX;
    loop {
        let status = exporter.resend_spooled().await.map_err(|e| e.to_string())?;
        if status.entries == 0 || status.entries == left {
            if status.entries > 0 {
                eprintln!(
                    "{} entries in another encoding than {protocol} sends are left",
                    status.entries
                );
            }
            return Ok(status.resent as usize);
        }
        left = status.entries;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("replay: {e}\nusage: replay FILE_OR_SPOOL_DIR --endpoint URL [--protocol grpc|http/protobuf|http/json]");
            return ExitCode::from(2);
        }
    };
    let result = if args.source.is_dir() {
        replay_spool(&args, &args.source).await
    } else {
        replay_file(&args, &args.source).await
    };
    match result {
        Ok(sent) => {
            println!("sent {sent} requests to {}", args.endpoint);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("replay: {e}");
            ExitCode::FAILURE
        }
    }
}
