//! The Prometheus endpoint over real sockets: formats, gzip, HEAD, 404, concurrent scrapes,
//! bad addresses; then a real Prometheus (Debian's package, which `scripts/test.sh` installs)
//! scraping it and answering queries; and `promtool check metrics` on the exposition.

mod support;

use support::promtool::{promtool_findings, tool};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_core::config::PrometheusConfig;
use metrics_core::export::{MetricsExporter, PrometheusExporter};
use metrics_core::prometheus::{to_writer_with, Format};
use metrics_core::{create_exporter, MetricsConfig, MetricsError, MetricsGroup};
use serde_json::Value;
use tokio::runtime::Runtime;

/// A response: status, headers (names lowercase), body.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.0 request (the server closes the connection after it, and sends no chunks).
fn http(address: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: {address}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

fn exposition(group: &dyn metrics_core::DynMetricsGroup, format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    to_writer_with(group, format, &mut out).unwrap();
    out
}

fn local_config() -> PrometheusConfig {
    PrometheusConfig {
        listen: "127.0.0.1:0".to_owned(),
    }
}

#[test]
fn serves_the_latest_export_in_the_format_and_encoding_asked_for() {
    let runtime = Runtime::new().unwrap();
    let _entered = runtime.enter();
    let exporter = PrometheusExporter::new(&local_config()).unwrap();
    let address = exporter.local_addr();

    let before = http(address, "GET", "/metrics", &[]);
    assert_eq!(before.status, 200);
    assert!(before.body.is_empty(), "nothing exported yet");

    let snapshot = support::example_snapshot();
    runtime.block_on(exporter.export(&snapshot)).unwrap();
    let text = http(address, "GET", "/metrics", &[]);
    assert_eq!(text.status, 200);
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let body = String::from_utf8(text.body.clone()).unwrap();
    assert!(body.contains("\nscheduler_max_capacity 1000\n"), "{body}");
    assert!(body.contains("\ncompaction_compactions_by_tier_total{tier=\"deep\"} 2\n"));
    assert_eq!(text.body, exposition(&snapshot, Format::Text));

    let open_metrics = http(
        address,
        "GET",
        "/metrics",
        &[(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
        )],
    );
    assert_eq!(
        open_metrics.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(open_metrics.body.ends_with(b"# EOF\n"));
    assert_eq!(
        open_metrics.body,
        exposition(&snapshot, Format::OpenMetrics)
    );

    let gzipped = http(
        address,
        "GET",
        "/metrics",
        &[("Accept-Encoding", "gzip, br")],
    );
    assert_eq!(gzipped.header("content-encoding"), Some("gzip"));
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gzipped.body[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, text.body);
    let refused = http(
        address,
        "GET",
        "/metrics",
        &[("Accept-Encoding", "gzip;q=0")],
    );
    assert_eq!(refused.header("content-encoding"), None);
    assert_eq!(refused.body, text.body);

    let head = http(address, "HEAD", "/metrics", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(text.body.len().to_string().as_str())
    );
    assert!(head.body.is_empty());

    for path in ["/", "/metrics/", "/metricsx", "/other?x=1"] {
        assert_eq!(http(address, "GET", path, &[]).status, 404, "{path}");
    }
    let post = http(address, "POST", "/metrics", &[]);
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));

    // A later export replaces the snapshot.
    let mut later = support::example_snapshot();
    later.scheduler.running_agents = 77;
    runtime.block_on(exporter.export(&later)).unwrap();
    let body = http(address, "GET", "/metrics", &[]).body;
    assert!(String::from_utf8(body)
        .unwrap()
        .contains("\nscheduler_running_agents 77\n"));

    runtime.block_on(exporter.shutdown()).unwrap();
    assert!(matches!(
        runtime.block_on(exporter.export(&later)),
        Err(MetricsError::ShutDown { .. })
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(address).is_ok() {
        assert!(Instant::now() < deadline, "still listening after shutdown");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn concurrent_scrapes_during_exports_get_whole_snapshots() {
    let runtime = Runtime::new().unwrap();
    let _entered = runtime.enter();
    let exporter = Arc::new(PrometheusExporter::new(&local_config()).unwrap());
    let address = exporter.local_addr();
    let mut snapshot = support::example_snapshot();
    snapshot.task_manager.healthy_tasks = snapshot.scheduler.running_agents;
    runtime.block_on(exporter.export(&snapshot)).unwrap();
    let scrapers: Vec<_> = (0..8)
        .map(|i| {
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let gzip = if i % 2 == 0 { "gzip" } else { "identity" };
                    let response = http(address, "GET", "/metrics", &[("Accept-Encoding", gzip)]);
                    assert_eq!(response.status, 200);
                    let gzipped = response.header("content-encoding") == Some("gzip");
                    let mut body = response.body;
                    if gzipped {
                        let mut unzipped = Vec::new();
                        flate2::read::GzDecoder::new(&body[..])
                            .read_to_end(&mut unzipped)
                            .unwrap();
                        body = unzipped;
                    }
                    let body = String::from_utf8(body).unwrap();
                    // Whole: its first and its last metric, and one snapshot's value throughout.
                    assert!(body.starts_with("# HELP scheduler_total_scheduled_total "));
                    assert!(body.ends_with("\ncompaction_context_utilization_ratio 0.75\n"));
                    let running: Vec<&str> = body
                        .lines()
                        .filter(|l| {
                            l.starts_with("scheduler_running_agents ")
                                || l.starts_with("task_manager_healthy_tasks ")
                        })
                        .map(|l| l.rsplit(' ').next().unwrap())
                        .collect();
                    assert_eq!(running.len(), 2);
                    assert_eq!(running[0], running[1], "{body}");
                }
            })
        })
        .collect();
    for n in 0..200 {
        snapshot.scheduler.running_agents = n;
        snapshot.task_manager.healthy_tasks = n;
        runtime.block_on(exporter.export(&snapshot)).unwrap();
    }
    for scraper in scrapers {
        scraper.join().unwrap();
    }
}

#[test]
fn bad_addresses_and_ports_in_use_fail_at_creation() {
    let runtime = Runtime::new().unwrap();
    let _entered = runtime.enter();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let in_use = taken.local_addr().unwrap().to_string();
    for (listen, expected) in [
        (in_use.as_str(), "cannot listen on it"),
        ("localhost:9464", "must be an IP address and a port"),
        ("127.0.0.1", "must be an IP address and a port"),
        ("127.0.0.1:99999", "must be an IP address and a port"),
        ("", "must be an IP address and a port"),
    ] {
        let config = MetricsConfig {
            prometheus: Some(PrometheusConfig {
                listen: listen.to_owned(),
            }),
            ..MetricsConfig::default()
        };
        let error = create_exporter(&config).unwrap_err().to_string();
        assert!(error.contains("`prometheus.listen`"), "{listen}: {error}");
        assert!(error.contains(expected), "{listen}: {error}");
        assert!(error.contains(&format!("{listen:?}")), "{listen}: {error}");
    }
}

#[test]
fn the_configuration_reads_the_endpoint() {
    let config: MetricsConfig =
        serde_json::from_str(r#"{ "prometheus": { "listen": "127.0.0.1:9464" } }"#).unwrap();
    assert_eq!(
        config.prometheus,
        Some(PrometheusConfig {
            listen: "127.0.0.1:9464".to_owned()
        })
    );
    assert!(serde_json::from_str::<MetricsConfig>(r#"{ "prometheus": { "port": 1 } }"#).is_err());
}

/// A child process killed when the test ends, however it ends.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Asks Prometheus's HTTP API; `None` until it answers.
fn api(prometheus: SocketAddr, path_and_query: &str) -> Option<Value> {
    TcpStream::connect(prometheus).ok()?;
    let response = http(prometheus, "GET", path_and_query, &[]);
    (response.status == 200)
        .then(|| serde_json::from_slice(&response.body).ok())
        .flatten()
}

/// `query` as a URL's query value.
fn percent_encoded(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of the instant query `query` (one series), once Prometheus has one.
fn query(prometheus: SocketAddr, query: &str, deadline: Instant) -> String {
    let encoded = percent_encoded(query);
    loop {
        if let Some(answer) = api(prometheus, &format!("/api/v1/query?query={encoded}")) {
            if let Some(value) = answer["data"]["result"][0]["value"][1].as_str() {
                return value.to_owned();
            }
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus has no value for {query}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A Prometheus scraping `target` every second, its data in `dir`: the process (killed on
/// drop) and its address.
fn start_prometheus(target: SocketAddr, dir: &std::path::Path) -> (Guard, SocketAddr) {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: metrics\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let prometheus: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let server = Guard(
        Command::new(tool("prometheus"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={prometheus}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    (server, prometheus)
}

#[test]
fn a_real_prometheus_scrapes_the_endpoint() {
    let runtime = Runtime::new().unwrap();
    let _entered = runtime.enter();
    let exporter = PrometheusExporter::new(&local_config()).unwrap();
    runtime
        .block_on(exporter.export(&support::example_snapshot()))
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let (_server, prometheus) = start_prometheus(exporter.local_addr(), dir.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    assert_eq!(query(prometheus, "up", deadline), "1");
    for (series, expected) in [
        ("scheduler_max_capacity", "1000"),
        ("scheduler_total_scheduled_total", "42"),
        ("scheduler_load_factor_ratio", "0.005"),
        ("task_manager_average_uptime_seconds", "1800.5"),
        ("task_manager_total_memory_usage_bytes", "1073741824"),
        ("compaction_compactions_by_tier_total{tier=\"deep\"}", "2"),
        ("compaction_total_tokens_saved_total", "123456"),
    ] {
        assert_eq!(query(prometheus, series, deadline), expected, "{series}");
    }
    // Types, as Prometheus read them from the metadata lines.
    let metadata = loop {
        let answer = api(prometheus, "/api/v1/metadata");
        if let Some(data) = answer.as_ref().map(|a| &a["data"]) {
            if data.get("scheduler_max_capacity").is_some() {
                break data.clone();
            }
        }
        assert!(Instant::now() < deadline, "no metadata: {answer:?}");
        std::thread::sleep(Duration::from_millis(250));
    };
    let kind = |family: &str| metadata[family][0]["type"].as_str().map(str::to_owned);
    assert_eq!(kind("scheduler_max_capacity").as_deref(), Some("gauge"));
    // Prometheus negotiates OpenMetrics, whose counter family has no `_total`.
    assert_eq!(
        kind("scheduler_total_scheduled").as_deref(),
        Some("counter")
    );
    assert_eq!(
        kind("compaction_compactions_by_tier").as_deref(),
        Some("counter")
    );
    assert_eq!(
        metadata["task_manager_average_uptime_seconds"][0]["unit"],
        "seconds"
    );
}

#[derive(MetricsGroup)]
struct Service {
    /// Requests served, by route.
    #[metric(counter, label = "route")]
    requests: std::collections::HashMap<String, u64>,
    /// Time spent serving.
    #[metric(counter, unit = "s")]
    busy: f64,
    /// Connections open.
    #[metric(up_down_counter, unit = "{connection}")]
    connections: i64,
    /// Memory in use.
    #[metric(unit = "By")]
    memory: u64,
    /// Share of workers busy.
    #[metric(unit = "1")]
    utilization: f64,
}

#[test]
fn promtool_finds_nothing_to_lint() {
    let service = Service {
        requests: [("/a\"b".to_owned(), 3), ("/".to_owned(), 9)].into(),
        busy: 12.5,
        connections: -1,
        memory: u64::MAX,
        utilization: f64::NAN,
    };
    // promtool reads the text format (only).
    assert_eq!(promtool_findings(&exposition(&service, Format::Text)), "");
    // The example's own names say their units twice (`_ms` in the name, `ms` as the unit):
    // promtool's findings are about those names, not the mapping.
    let findings = promtool_findings(&exposition(&support::example_snapshot(), Format::Text));
    assert_eq!(findings, EXAMPLE_NAME_FINDINGS);
}

/// What promtool says of the example's exposition: only about the two names the reference
/// exporter chose (`_ms` and `_mb` in the name, the unit given as well).
const EXAMPLE_NAME_FINDINGS: &str = "\
load_balancer_average_allocation_time_ms_milliseconds metric names should not contain abbreviated units
load_balancer_average_allocation_time_ms_milliseconds use base unit \"seconds\" instead of \"milliseconds\"
system_memory_usage_mb_mebibytes metric names should not contain abbreviated units
";

/// The result vector of the instant query `query`, once it is not empty.
fn query_series(prometheus: SocketAddr, query: &str, deadline: Instant) -> Vec<Value> {
    let encoded = percent_encoded(query);
    loop {
        if let Some(answer) = api(prometheus, &format!("/api/v1/query?query={encoded}")) {
            if let Some(result) = answer["data"]["result"].as_array() {
                if !result.is_empty() {
                    return result.clone();
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus has no series for {query}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn the_example_serves_its_metrics_with_prometheus_flag() {
    let binary = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("scheduler");
    let dir = tempfile::tempdir().unwrap();
    let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _example = Guard(
        Command::new(binary)
            .args([
                "--duration",
                "60",
                "--prometheus",
                &address.to_string(),
                "--output",
            ])
            .arg(dir.path().join("metrics.json"))
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if TcpStream::connect(address).is_ok() {
            let body = String::from_utf8(http(address, "GET", "/metrics", &[]).body).unwrap();
            // The simulation's capacity, and agents allocated (the histogram) and finished.
            if body.contains("\nscheduler_max_capacity 64\n")
                && body.contains("load_balancer_allocation_time_seconds_bucket{le=")
                && body.contains("scheduler_agents_finished_total{queue=")
            {
                assert_eq!(promtool_findings(body.as_bytes()), EXAMPLE_NAME_FINDINGS);
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the example serves no metrics on {address}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // A real Prometheus scrapes the example every second: the latency histogram gives a
    // quantile, and the family its series with both attributes.
    let dir = tempfile::tempdir().unwrap();
    let (_server, prometheus) = start_prometheus(address, dir.path());
    let deadline = Instant::now() + Duration::from_secs(60);
    let quantile = "histogram_quantile(0.9, sum by (le) (rate(load_balancer_allocation_time_seconds_bucket[10s])))";
    loop {
        let value = query(prometheus, quantile, deadline);
        // NaN until two scrapes show allocations.
        if let Ok(seconds) = value.parse::<f64>() {
            if seconds.is_finite() {
                // Allocations take 0.5 to 3.4 ms in the simulation.
                assert!(
                    (0.0005..=0.004).contains(&seconds),
                    "{quantile} = {seconds}"
                );
                break;
            }
        }
        assert!(Instant::now() < deadline, "{quantile} stays {value}");
        std::thread::sleep(Duration::from_millis(250));
    }
    let series = query_series(
        prometheus,
        "scheduler_agents_finished_total{outcome=\"completed\"}",
        deadline,
    );
    for one in &series {
        let labels = &one["metric"];
        assert!(
            ["interactive", "batch"].contains(&labels["queue"].as_str().unwrap_or("")),
            "{one}"
        );
        assert_eq!(labels["outcome"], "completed", "{one}");
    }
    assert_eq!(
        query(
            prometheus,
            "count(scheduler_agents_finished_total{queue!=\"\",outcome!=\"\"}) > 0",
            deadline
        )
        .parse::<f64>()
        .map(|n| n > 0.0),
        Ok(true)
    );
}
