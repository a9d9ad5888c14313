//! Secrets: header values (an API key) reach the collector, and nowhere else. Not in the
//! `Debug` of any configuration, exporter or reporter, not in any error, and not in any log
//! line at any level: everything the process logs is captured at TRACE, our own events,
//! tonic, hyper, h2 and (through the `log` bridge) reqwest,
//! over successful and failing exports on every protocol.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_core::config::{OtlpConfig, OtlpProtocol};
use metrics_core::export::OtlpExporter;
use metrics_core::{create_exporter, MetricsConfig, MetricsExporter, MetricsGroup, Reporter};
use serde_json::json;
use support::example_snapshot;
use support::receiver::Receiver;

/// The secrets, each distinctive enough that no other text contains it by chance.
const API_KEY: &str = "sk-live-7f3a9c2e5d81";
const BEARER: &str = "tok-b41d9e0f6a27";
const FROM_ENV: &str = "env-secret-93c1f0aa";
const SECRETS: [&str; 3] = [API_KEY, BEARER, FROM_ENV];

fn assert_hidden(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows a secret:\n{text}");
    }
}

/// A configuration with secrets from the file and from `OTEL_EXPORTER_OTLP_HEADERS`.
fn config(receiver: &Receiver, protocol: OtlpProtocol, dir: &std::path::Path) -> MetricsConfig {
    let text = json!({
        "otlp": {
            "endpoint": receiver.url(protocol),
            "protocol": protocol.as_str(),
            "timeout_seconds": 1,
            "headers": {"x-api-key": API_KEY, "authorization": format!("Bearer {BEARER}")},
        },
        "file": {"path": dir.join("metrics.json")},
    })
    .to_string();
    let mut config = MetricsConfig::from_json(&text).unwrap();
    let env = format!("x-env-key={FROM_ENV}");
    config
        .apply_env_from(|name| (name == "OTEL_EXPORTER_OTLP_HEADERS").then(|| env.clone()))
        .unwrap();
    config.validate().unwrap();
    config
}

#[derive(MetricsGroup)]
struct Odd {
    not_a_number: f64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_values_never_show_in_debug_errors_or_logs() {
    let logs = support::logs::capture();
    let receiver = Receiver::start();
    let dir = tempfile::tempdir().unwrap();
    let mut shown: Vec<(String, String)> = Vec::new();
    let mut show = |what: &str, text: String| shown.push((what.to_owned(), text));

    for protocol in [
        OtlpProtocol::Grpc,
        OtlpProtocol::HttpBinary,
        OtlpProtocol::HttpJson,
    ] {
        receiver.reset();
        let config = config(&receiver, protocol, dir.path());
        let otlp = config.otlp.clone().unwrap();
        show("MetricsConfig", format!("{config:?}"));
        show("MetricsConfig pretty", format!("{config:#?}"));
        show("OtlpConfig", format!("{otlp:?}"));

        let direct = OtlpExporter::new(&config, &otlp).unwrap();
        show("OtlpExporter", format!("{direct:?}"));
        let exporter = create_exporter(&config).unwrap();
        show("composite", format!("{exporter:?}"));
        show("composite pretty", format!("{exporter:#?}"));

        // A successful export carries the secrets to the collector: they were in play.
        exporter.export(&example_snapshot()).await.unwrap();
        let received = receiver.received();
        let headers = &received[0]["headers"];
        assert_eq!(headers["x-api-key"], API_KEY, "{protocol}");
        assert_eq!(headers["authorization"], format!("Bearer {BEARER}"));
        assert_eq!(headers["x-env-key"], FROM_ENV, "{protocol}");

        // Failing exports: retried, refused, rejected, timed out; and values OTLP drops.
        // (fault, whether the export must fail: the retried 503 succeeds)
        let faults = [
            (
                json!({"mode": "status", "http_status": 503, "grpc_code": "UNAVAILABLE",
                       "retry_after": "0", "count": 1}),
                false,
            ),
            (
                json!({"mode": "status", "http_status": 401, "grpc_code": "UNAUTHENTICATED"}),
                true,
            ),
            // A collector echoing the key back (in the 400 body or the gRPC status
            // message, in a partial success's message): redacted from the error.
            (
                json!({"mode": "status", "http_status": 400, "grpc_code": "INVALID_ARGUMENT",
                       "message": format!("bad key {API_KEY} / {BEARER}")}),
                true,
            ),
            (
                json!({"mode": "partial", "rejected": 1,
                       "message": format!("rejected for {API_KEY}")}),
                true,
            ),
            (json!({"mode": "blackhole"}), true),
        ];
        for (fault, fails) in faults {
            receiver.fault(fault.clone());
            match exporter.export(&example_snapshot()).await {
                Err(error) => {
                    assert!(fails, "{protocol} {fault}: {error}");
                    if fault.get("message").is_some() {
                        // The collector's message is there, without the secret.
                        let message = error.to_string();
                        assert!(message.contains("<redacted>"), "{protocol}: {message}");
                    }
                    show("export error", error.to_string());
                    show("export error Debug", format!("{error:?}"));
                }
                Ok(()) => assert!(!fails, "{protocol} {fault}: no error"),
            }
        }
        receiver.fault(json!({"mode": "none"}));
        direct
            .export(&Odd {
                not_a_number: f64::NAN,
            })
            .await
            .unwrap();

        // A reporter, whose failed exports are logged, and its Debug.
        receiver.fault(json!({"mode": "status", "http_status": 403,
                              "grpc_code": "PERMISSION_DENIED"}));
        let reports = Arc::new(Mutex::new(Vec::new()));
        let reporter = Reporter::builder(Arc::clone(&exporter), Duration::from_millis(50))
            .on_export({
                let reports = Arc::clone(&reports);
                move |report| reports.lock().unwrap().push(format!("{report:?}"))
            })
            .start(example_snapshot);
        show("Reporter", format!("{reporter:?}"));
        tokio::time::sleep(Duration::from_millis(120)).await;
        if let Err(error) = reporter.shutdown(Duration::from_secs(3)).await {
            show("reporter error", format!("{error} {error:?}"));
        }
        receiver.fault(json!({"mode": "none"}));
        for report in reports.lock().unwrap().iter() {
            show("ExportReport", report.clone());
        }
        direct.shutdown().await.unwrap();
    }

    // Refused: no receiver at all.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let otlp = OtlpConfig {
        headers: HashMap::from([("x-api-key".to_owned(), API_KEY.to_owned())]),
        timeout_seconds: 0.5,
        ..OtlpConfig::new(format!("http://127.0.0.1:{port}"))
    };
    let refused = OtlpExporter::new(&MetricsConfig::default(), &otlp).unwrap();
    let error = refused.export(&example_snapshot()).await.unwrap_err();
    show("refused", format!("{error} {error:?} {refused:?}"));

    // An invalid header value: the error names the header, not its value.
    let mut bad = MetricsConfig {
        otlp: Some(otlp.clone()),
        ..MetricsConfig::default()
    };
    bad.otlp.as_mut().unwrap().headers.insert(
        "x-api-key".to_owned(),
        format!("{API_KEY}\r\nx-injected: 1"),
    );
    let error = create_exporter(&bad).unwrap_err();
    show("invalid header", format!("{error} {error:?}"));

    for (what, text) in &shown {
        assert!(!text.is_empty(), "{what}");
        assert_hidden(what, text);
    }

    let logs = logs.text();
    assert_hidden("the logs", &logs);
    // The capture is real: our warnings and the transports' traces.
    for expected in [
        "metrics export failed",           // the reporter (warn)
        "NaN or infinite values left out", // the OTLP exporter (warn)
        "h2::",                            // the gRPC transport (trace)
        "hyper_util::",                    // the HTTP transport (trace)
        "reqwest::",                       // reqwest, through the `log` bridge
    ] {
        assert!(
            logs.contains(expected),
            "no {expected:?} in the captured logs"
        );
    }
    eprintln!(
        "{} lines of logs captured, {} Debug and error texts checked",
        logs.lines().count(),
        shown.len()
    );
}
