//! The independent OTLP receiver (tests/otlp_receiver/receiver.py) as a child process on
//! 127.0.0.1, and a client for its control API.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use metrics_core::config::OtlpProtocol;
use serde_json::Value;

/// A running receiver; killed when dropped.
pub struct Receiver {
    child: Child,
    pub grpc_port: u16,
    pub http_port: u16,
    /// The HTTPS export port of a receiver started with [`Receiver::start_tls`].
    pub https_port: Option<u16>,
}

/// The PEM files a TLS receiver serves with.
pub struct ServerTls<'a> {
    pub certificate: &'a Path,
    pub key: &'a Path,
    /// Require client certificates signed by this CA.
    pub client_ca: Option<&'a Path>,
}

impl Receiver {
    /// Starts the receiver on free ports and waits until it listens.
    pub fn start() -> Receiver {
        Receiver::start_on(0, 0)
    }

    /// Starts the receiver on the given ports (0: a free one), e.g. again on the ports of
    /// one that was stopped, and waits until it listens.
    pub fn start_on(grpc_port: u16, http_port: u16) -> Receiver {
        Receiver::spawn(&[
            "--grpc-port".as_ref(),
            grpc_port.to_string().as_ref(),
            "--http-port".as_ref(),
            http_port.to_string().as_ref(),
        ])
    }

    /// Starts a receiver serving gRPC over TLS only and HTTP exports over TLS on
    /// `https_port` (its control API stays plain), and waits until it listens.
    pub fn start_tls(tls: &ServerTls) -> Receiver {
        let mut args = vec![
            "--tls-cert".as_ref(),
            tls.certificate.as_os_str(),
            "--tls-key".as_ref(),
            tls.key.as_os_str(),
        ];
        if let Some(ca) = tls.client_ca {
            args.extend(["--tls-client-ca".as_ref(), ca.as_os_str()]);
        }
        Receiver::spawn(&args)
    }

    fn spawn(args: &[&std::ffi::OsStr]) -> Receiver {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let python = root.join("target/otlp-venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run ./scripts/test.sh, which sets up the OTLP receiver's venv",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(root.join("tests/otlp_receiver/receiver.py"))
            .args(args)
            .stdin(Stdio::piped()) // closed when the test process dies: the receiver exits
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the OTLP receiver");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the receiver's ports");
        let ports: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("receiver said {line:?}: {e}"));
        Receiver {
            child,
            grpc_port: ports["grpc_port"].as_u64().unwrap() as u16,
            http_port: ports["http_port"].as_u64().unwrap() as u16,
            https_port: ports["https_port"].as_u64().map(|port| port as u16),
        }
    }

    /// The endpoint for `protocol`.
    pub fn url(&self, protocol: OtlpProtocol) -> String {
        match protocol {
            OtlpProtocol::Grpc => self.grpc_url(),
            OtlpProtocol::HttpBinary | OtlpProtocol::HttpJson => self.http_url(),
        }
    }

    /// The gRPC endpoint.
    pub fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// The HTTP endpoint, the full URL the exporter posts to.
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1/metrics", self.http_port)
    }

    /// The `https` endpoint for `protocol` of a receiver started with [`Receiver::start_tls`].
    pub fn tls_url(&self, protocol: OtlpProtocol) -> String {
        match protocol {
            OtlpProtocol::Grpc => format!("https://127.0.0.1:{}", self.grpc_port),
            OtlpProtocol::HttpBinary | OtlpProtocol::HttpJson => format!(
                "https://127.0.0.1:{}/v1/metrics",
                self.https_port.expect("a receiver started with TLS")
            ),
        }
    }

    /// Every export request received so far.
    pub fn received(&self) -> Vec<Value> {
        let body = self.control("GET", "/received", "");
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// Waits (polling, at most `within`) until at least `count` requests have arrived.
    pub fn wait_for(&self, count: usize, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {count} requests arrived within {within:?}",
                received.len()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Requests the receiver could not decode.
    pub fn rejected(&self) -> Vec<Value> {
        let body = self.control("GET", "/rejected", "");
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// Sets the fault mode (see receiver.py).
    pub fn fault(&self, fault: Value) {
        self.control("POST", "/fault", &fault.to_string());
    }

    /// An OTLP/JSON request decoded by the receiver, in the form of a record's `request`.
    pub fn decode(&self, json: &str) -> Value {
        serde_json::from_str(&self.control("POST", "/decode", json)).unwrap()
    }

    /// Forgets the requests received so far.
    pub fn reset(&self) {
        self.control("POST", "/reset", "");
    }

    /// One HTTP/1.0 request to the control API; returns the body. Bounded by timeouts, generous
    /// ones: `/received` converts every request to JSON, which for 100,000 points takes the
    /// receiver over 10 s on two loaded cores.
    fn control(&self, method: &str, path: &str, body: &str) -> String {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.http_port)).expect("connect to the receiver");
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("read the receiver's answer");
        let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
        assert!(
            head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
            "{head}"
        );
        body.to_owned()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The metrics of one received request (a record of [`Receiver::received`]), by name.
pub fn metrics_by_name(record: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for resource in record["request"]["resource_metrics"].as_array().unwrap() {
        for scope in resource["scope_metrics"].as_array().unwrap() {
            for metric in scope["metrics"].as_array().unwrap() {
                out.insert(metric["name"].as_str().unwrap().to_owned(), metric.clone());
            }
        }
    }
    out
}
