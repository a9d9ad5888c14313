//! The OTLP exporter against a receiver that fails on command (tests/otlp_receiver/receiver.py,
//! on 127.0.0.1): connection refused, a black hole, HTTP 503 and 429 with Retry-After, gRPC
//! UNAVAILABLE with RetryInfo, slow answers, a receiver that dies and comes back. Every export
//! fails, or succeeds after a retry, within the configured timeout plus 10%; the exporter
//! works again once the receiver does; shutdown never hangs.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_core::config::{OtlpConfig, OtlpProtocol};
use metrics_core::export::OtlpExporter;
use metrics_core::{MetricsConfig, MetricsError, MetricsExporter};
use serde_json::json;
use support::example_snapshot;
use support::receiver::Receiver;

const PROTOCOLS: [OtlpProtocol; 3] = [
    OtlpProtocol::Grpc,
    OtlpProtocol::HttpBinary,
    OtlpProtocol::HttpJson,
];

const HTTP: [OtlpProtocol; 2] = [OtlpProtocol::HttpBinary, OtlpProtocol::HttpJson];

fn exporter(endpoint: String, protocol: OtlpProtocol, timeout_seconds: f64) -> OtlpExporter {
    let otlp = OtlpConfig {
        protocol,
        timeout_seconds,
        ..OtlpConfig::new(endpoint)
    };
    OtlpExporter::new(&MetricsConfig::default(), &otlp).unwrap()
}

/// The configured timeout plus 10%: no export may take longer.
fn bound(timeout_seconds: f64) -> Duration {
    Duration::from_secs_f64(timeout_seconds * 1.1)
}

/// One export of the example snapshot, and how long it took.
async fn timed(exporter: &OtlpExporter) -> (Result<(), MetricsError>, Duration) {
    let started = Instant::now();
    let result = exporter.export(&example_snapshot()).await;
    (result, started.elapsed())
}

/// Asserts that the export failed within the bound, and returns the message.
async fn fails_in_time(exporter: &OtlpExporter, timeout_seconds: f64, case: &str) -> String {
    let (result, elapsed) = timed(exporter).await;
    let error = result.expect_err(case);
    let message = error.to_string();
    eprintln!("{case}: failed after {elapsed:.2?}: {message}");
    assert!(
        elapsed <= bound(timeout_seconds),
        "{case}: took {elapsed:?}"
    );
    message
}

/// Asserts that the export succeeded within the bound, and returns how long it took.
async fn succeeds_in_time(exporter: &OtlpExporter, timeout_seconds: f64, case: &str) -> Duration {
    let (result, elapsed) = timed(exporter).await;
    result.unwrap_or_else(|e| panic!("{case}: {e}"));
    eprintln!("{case}: succeeded after {elapsed:.2?}");
    assert!(
        elapsed <= bound(timeout_seconds),
        "{case}: took {elapsed:?}"
    );
    elapsed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_fails_within_the_timeout() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    for protocol in PROTOCOLS {
        let exporter = exporter(format!("http://127.0.0.1:{port}"), protocol, 1.0);
        let case = format!("{protocol} refused");
        let message = fails_in_time(&exporter, 1.0, &case).await;
        assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_hole_fails_within_the_timeout_and_the_exporter_recovers() {
    let receiver = Receiver::start();
    for protocol in PROTOCOLS {
        let exporter = exporter(receiver.url(protocol), protocol, 1.0);
        receiver.fault(json!({"mode": "blackhole"}));
        let case = format!("{protocol} black hole");
        let started = Instant::now();
        let message = fails_in_time(&exporter, 1.0, &case).await;
        // It really waited for an answer that never came, rather than failing early.
        assert!(started.elapsed() >= Duration::from_millis(900), "{case}");
        assert!(message.contains(&receiver.url(protocol)), "{message}");
        receiver.fault(json!({"mode": "none"}));
        succeeds_in_time(&exporter, 1.0, &format!("{protocol} after the black hole")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_answers_are_retried_after_the_delay_asked_for() {
    let receiver = Receiver::start();
    let mut cases: Vec<(OtlpProtocol, serde_json::Value)> = Vec::new();
    for protocol in HTTP {
        for status in [503, 429] {
            cases.push((protocol, json!({"http_status": status})));
        }
    }
    cases.push((OtlpProtocol::Grpc, json!({"grpc_code": "UNAVAILABLE"})));
    for (protocol, status) in cases {
        receiver.reset();
        let mut fault = json!({"mode": "status", "retry_after": "1", "count": 1});
        fault
            .as_object_mut()
            .unwrap()
            .extend(status.as_object().unwrap().clone());
        receiver.fault(fault);
        let exporter = exporter(receiver.url(protocol), protocol, 2.0);
        let case = format!("{protocol} {status} once, Retry-After 1 s");
        let elapsed = succeeds_in_time(&exporter, 2.0, &case).await;
        assert!(
            elapsed >= Duration::from_secs(1),
            "{case}: no wait: {elapsed:?}"
        );
        let received = receiver.received();
        assert_eq!(received.len(), 2, "{case}: the failed try and the retry");
        assert!(received[1]["fault"].is_null(), "{case}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_without_a_delay_is_retried_with_backoff() {
    let receiver = Receiver::start();
    for protocol in PROTOCOLS {
        receiver.reset();
        receiver.fault(json!({"mode": "status", "http_status": 503, "count": 2}));
        let exporter = exporter(receiver.url(protocol), protocol, 2.0);
        succeeds_in_time(&exporter, 2.0, &format!("{protocol} unavailable twice")).await;
        assert_eq!(receiver.received().len(), 3, "{protocol}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_errors_fail_within_the_timeout_and_the_exporter_recovers() {
    let receiver = Receiver::start();
    let mut cases: Vec<(OtlpProtocol, serde_json::Value, &str)> = Vec::new();
    for protocol in HTTP {
        for status in [503, 429] {
            let fault = json!({"mode": "status", "http_status": status, "retry_after": "1"});
            cases.push((protocol, fault, if status == 503 { "503" } else { "429" }));
        }
    }
    let fault = json!({"mode": "status", "grpc_code": "UNAVAILABLE", "retry_after": "1"});
    cases.push((OtlpProtocol::Grpc, fault, "Unavailable"));
    for (protocol, fault, expected) in cases {
        let exporter = exporter(receiver.url(protocol), protocol, 1.0);
        receiver.fault(fault);
        let case = format!("{protocol} always {expected}");
        let message = fails_in_time(&exporter, 1.0, &case).await;
        assert!(message.contains(expected), "{case}: {message}");
        receiver.fault(json!({"mode": "none"}));
        succeeds_in_time(&exporter, 1.0, &format!("{case}, then healthy")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_answers_succeed_in_time_or_fail_at_the_timeout() {
    let receiver = Receiver::start();
    for protocol in PROTOCOLS {
        let exporter = exporter(receiver.url(protocol), protocol, 1.0);
        receiver.fault(json!({"mode": "delay", "seconds": 0.3, "count": 1}));
        let elapsed =
            succeeds_in_time(&exporter, 1.0, &format!("{protocol} answering in 0.3 s")).await;
        assert!(
            elapsed >= Duration::from_millis(300),
            "{protocol}: {elapsed:?}"
        );

        receiver.fault(json!({"mode": "delay", "seconds": 3, "count": 1}));
        fails_in_time(&exporter, 1.0, &format!("{protocol} answering in 3 s")).await;
        succeeds_in_time(&exporter, 1.0, &format!("{protocol} after the slow answer")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_that_hangs_still_ends_within_the_timeout() {
    // The SDK's deadline decides whether to retry, but a retry that starts just before it
    // gets a whole request timeout of its own: the exporter must cut it off.
    let receiver = Receiver::start();
    for protocol in PROTOCOLS {
        receiver.reset();
        receiver.fault(json!({"mode": "status", "http_status": 503,
                              "grpc_code": "UNAVAILABLE", "retry_after": "1", "count": 1}));
        let exporter = Arc::new(exporter(receiver.url(protocol), protocol, 2.0));
        let export = tokio::spawn({
            let exporter = Arc::clone(&exporter);
            async move { timed(&exporter).await }
        });
        receiver.wait_for(1, Duration::from_secs(2));
        receiver.fault(json!({"mode": "blackhole"}));
        let (result, elapsed) = export.await.unwrap();
        let case = format!("{protocol} 503 then a black hole");
        eprintln!("{case}: {result:?} after {elapsed:.2?}");
        assert!(result.is_err(), "{case}");
        assert!(elapsed <= bound(2.0), "{case}: took {elapsed:?}");
        receiver.fault(json!({"mode": "none"}));
        succeeds_in_time(&exporter, 2.0, &format!("{case}, then healthy")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exporter_recovers_when_a_dead_receiver_comes_back() {
    let first = Receiver::start();
    let (grpc_port, http_port) = (first.grpc_port, first.http_port);
    let exporters: Vec<(OtlpProtocol, OtlpExporter)> = PROTOCOLS
        .into_iter()
        .map(|protocol| (protocol, exporter(first.url(protocol), protocol, 1.0)))
        .collect();
    for (protocol, exporter) in &exporters {
        succeeds_in_time(exporter, 1.0, &format!("{protocol} before")).await;
    }
    drop(first);
    for (protocol, exporter) in &exporters {
        fails_in_time(exporter, 1.0, &format!("{protocol} receiver gone")).await;
    }
    let second = Receiver::start_on(grpc_port, http_port);
    for (protocol, exporter) in &exporters {
        succeeds_in_time(exporter, 1.0, &format!("{protocol} receiver back")).await;
    }
    assert_eq!(second.received().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_never_hangs() {
    let receiver = Receiver::start();
    receiver.fault(json!({"mode": "blackhole"}));
    for protocol in PROTOCOLS {
        // During an export into a black hole: shutdown waits for it, within its deadline.
        let exporter = Arc::new(exporter(receiver.url(protocol), protocol, 1.0));
        let export = tokio::spawn({
            let exporter = Arc::clone(&exporter);
            async move { timed(&exporter).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        exporter.shutdown().await.unwrap();
        let elapsed = started.elapsed();
        eprintln!("{protocol}: shutdown during a hanging export took {elapsed:.2?}");
        assert!(
            elapsed <= bound(1.0),
            "{protocol}: shutdown took {elapsed:?}"
        );
        let (result, _) = export.await.unwrap();
        assert!(result.is_err(), "{protocol}");
        let error = exporter.export(&example_snapshot()).await.unwrap_err();
        assert!(matches!(error, MetricsError::ShutDown { .. }), "{error}");

        // With nothing in flight, at once, even with the receiver unreachable.
        let idle = exporter_for_unreachable(protocol);
        let started = Instant::now();
        idle.shutdown().await.unwrap();
        assert!(started.elapsed() < Duration::from_millis(100), "{protocol}");
    }
}

fn exporter_for_unreachable(protocol: OtlpProtocol) -> OtlpExporter {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    exporter(format!("http://127.0.0.1:{port}"), protocol, 1.0)
}
