//! The OTLP exporter over TLS, against the receiver serving gRPC with gRPC's SSL credentials
//! and HTTP on an SSL-wrapped server, with certificates made here (rcgen): the right CA, a
//! wrong one, an expired certificate, a collector requiring client certificates, the
//! `OTEL_EXPORTER_OTLP_*` TLS variables, and bad files, which fail the exporter's creation.

mod support;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use metrics_core::config::{MetricsConfig, OtlpConfig, OtlpProtocol, OtlpTlsConfig};
use metrics_core::export::OtlpExporter;
use metrics_core::{MetricsError, MetricsExporter};
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use support::receiver::{Receiver, ServerTls};
use tempfile::TempDir;

const PROTOCOLS: [OtlpProtocol; 3] = [
    OtlpProtocol::Grpc,
    OtlpProtocol::HttpBinary,
    OtlpProtocol::HttpJson,
];

/// Certificates in a temporary directory: two CAs, and certificates for 127.0.0.1 signed
/// by the first.
struct Pki {
    dir: TempDir,
    /// The CA that signed every certificate below.
    ca: PathBuf,
    /// A CA that signed nothing here.
    other_ca: PathBuf,
    server: (PathBuf, PathBuf),
    /// Valid in 2020 only.
    expired_server: (PathBuf, PathBuf),
    /// For `collector.example`, not 127.0.0.1.
    other_host_server: (PathBuf, PathBuf),
    client: (PathBuf, PathBuf),
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = ca("test CA");
        let other_ca = ca_certificate_only("another CA");
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let issue = |name: &str, purpose, expired: bool| {
            let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
            // The test's endpoints are 127.0.0.1; "elsewhere" names another host only.
            if name == "elsewhere" {
                params.subject_alt_names =
                    vec![SanType::DnsName("collector.example".try_into().unwrap())];
            } else {
                params
                    .subject_alt_names
                    .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
            }
            params.distinguished_name.push(DnType::CommonName, name);
            params.extended_key_usages = vec![purpose];
            if expired {
                params.not_before = date_time_ymd(2020, 1, 1);
                params.not_after = date_time_ymd(2020, 12, 31);
            }
            let key = KeyPair::generate().unwrap();
            let certificate = params.signed_by(&key, &ca).unwrap();
            (
                write(&format!("{name}.pem"), certificate.pem()),
                write(&format!("{name}.key"), key.serialize_pem()),
            )
        };
        Pki {
            ca: write("ca.pem", ca.pem()),
            other_ca: write("other-ca.pem", other_ca),
            server: issue("server", ExtendedKeyUsagePurpose::ServerAuth, false),
            expired_server: issue("expired", ExtendedKeyUsagePurpose::ServerAuth, true),
            other_host_server: issue("elsewhere", ExtendedKeyUsagePurpose::ServerAuth, false),
            client: issue("client", ExtendedKeyUsagePurpose::ClientAuth, false),
            dir,
        }
    }

    /// A receiver serving `server`, requiring client certificates of [`Pki::ca`] if asked.
    fn receiver(&self, server: &(PathBuf, PathBuf), require_client: bool) -> Receiver {
        Receiver::start_tls(&ServerTls {
            certificate: &server.0,
            key: &server.1,
            client_ca: require_client.then_some(self.ca.as_path()),
        })
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn ca_certificate_only(name: &str) -> String {
    ca(name).pem()
}

/// TLS trusting `ca`, with a client certificate if given.
fn tls(ca: &Path, client: Option<&(PathBuf, PathBuf)>) -> OtlpTlsConfig {
    OtlpTlsConfig {
        certificate: Some(ca.to_owned()),
        client_certificate: client.map(|c| c.0.clone()),
        client_key: client.map(|c| c.1.clone()),
        ..OtlpTlsConfig::default()
    }
}

fn otlp(endpoint: String, protocol: OtlpProtocol, tls: OtlpTlsConfig) -> OtlpConfig {
    OtlpConfig {
        protocol,
        // Long enough never to be the error: a TLS failure ends the export at once.
        timeout_seconds: 20.0,
        tls,
        ..OtlpConfig::new(endpoint)
    }
}

/// One export of the example snapshot; the error as text.
async fn export(otlp: &OtlpConfig) -> Result<(), String> {
    let exporter =
        OtlpExporter::new(&MetricsConfig::default(), otlp).map_err(|e| format!("create: {e}"))?;
    let result = exporter.export(&support::example_snapshot()).await;
    exporter.shutdown().await.unwrap();
    match result {
        Ok(()) => Ok(()),
        Err(error @ MetricsError::Otlp { .. }) => Err(error.to_string()),
        Err(other) => panic!("expected an OTLP error, got {other:?}"),
    }
}

/// Asserts a TLS failure that names the endpoint and `detail`.
fn assert_tls_failure(result: Result<(), String>, url: &str, detail: &str) {
    let message = result.expect_err("the export must fail");
    assert!(message.contains(url), "{message}");
    assert!(message.contains("TLS handshake failed"), "{message}");
    assert!(message.contains("certificate problem"), "{message}");
    assert!(message.contains(detail), "{message}");
    assert!(!message.contains("network error"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_ca_delivers_over_each_transport() {
    let pki = Pki::new();
    let receiver = pki.receiver(&pki.server, false);
    for protocol in PROTOCOLS {
        let url = receiver.tls_url(protocol);
        export(&otlp(url, protocol, tls(&pki.ca, None)))
            .await
            .unwrap_or_else(|e| panic!("{protocol}: {e}"));
    }
    let received = receiver.wait_for(3, std::time::Duration::from_secs(10));
    let protocols: Vec<&str> = received
        .iter()
        .map(|r| r["protocol"].as_str().unwrap())
        .collect();
    assert_eq!(protocols, ["grpc", "http/protobuf", "http/json"]);
    let metrics = support::receiver::metrics_by_name(&received[0]);
    assert!(metrics.contains_key("scheduler.total_scheduled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ca_is_a_certificate_error_naming_the_endpoint() {
    let pki = Pki::new();
    let receiver = pki.receiver(&pki.server, false);
    for protocol in PROTOCOLS {
        let url = receiver.tls_url(protocol);
        let result = export(&otlp(url.clone(), protocol, tls(&pki.other_ca, None))).await;
        assert_tls_failure(result, &url, "not signed by a trusted CA");
    }
    // The default roots (platform and Mozilla) do not know the test CA either.
    let url = receiver.tls_url(OtlpProtocol::Grpc);
    let result = export(&otlp(
        url.clone(),
        OtlpProtocol::Grpc,
        OtlpTlsConfig::default(),
    ))
    .await;
    assert_tls_failure(result, &url, "UnknownIssuer");
    assert!(receiver.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_server_certificate_is_refused() {
    let pki = Pki::new();
    let receiver = pki.receiver(&pki.expired_server, false);
    for protocol in PROTOCOLS {
        let url = receiver.tls_url(protocol);
        let result = export(&otlp(url.clone(), protocol, tls(&pki.ca, None))).await;
        assert_tls_failure(result, &url, "expired");
    }
    assert!(receiver.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_for_another_host_is_refused() {
    let pki = Pki::new();
    let receiver = pki.receiver(&pki.other_host_server, false);
    for protocol in PROTOCOLS {
        let url = receiver.tls_url(protocol);
        let result = export(&otlp(url.clone(), protocol, tls(&pki.ca, None))).await;
        assert_tls_failure(result, &url, "does not name the endpoint's host");
    }
    assert!(receiver.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_needs_the_client_certificate() {
    let pki = Pki::new();
    let receiver = pki.receiver(&pki.server, true);
    for protocol in PROTOCOLS {
        let url = receiver.tls_url(protocol);
        let result = export(&otlp(url.clone(), protocol, tls(&pki.ca, None))).await;
        assert_tls_failure(result, &url, "client certificate");
        export(&otlp(url, protocol, tls(&pki.ca, Some(&pki.client))))
            .await
            .unwrap_or_else(|e| panic!("{protocol} with a client certificate: {e}"));
    }
    assert_eq!(
        receiver
            .wait_for(3, std::time::Duration::from_secs(10))
            .len(),
        3
    );
    // A certificate the collector's CA did not sign is refused too.
    let stranger = Pki::new();
    let url = receiver.tls_url(OtlpProtocol::Grpc);
    let result = export(&otlp(
        url.clone(),
        OtlpProtocol::Grpc,
        tls(&pki.ca, Some(&stranger.client)),
    ))
    .await;
    assert_tls_failure(result, &url, "client certificate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_environment_variables_configure_tls() {
    let pki = Pki::new();
    let receiver = pki.receiver(&pki.server, true);
    for protocol in [OtlpProtocol::Grpc, OtlpProtocol::HttpBinary] {
        let path = |p: &Path| p.display().to_string();
        let vars = HashMap::from([
            (
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                receiver.tls_url(protocol),
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.as_str().to_owned()),
            // The `METRICS_` form wins over the general one.
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&pki.other_ca)),
            ("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", path(&pki.ca)),
            ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", path(&pki.client.0)),
            ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", path(&pki.client.1)),
            ("OTEL_EXPORTER_OTLP_INSECURE", "false".to_owned()),
        ]);
        let mut config = MetricsConfig::default();
        config
            .apply_env_from(|name| vars.get(name).cloned())
            .unwrap();
        let otlp = config.otlp.clone().unwrap();
        assert_eq!(otlp.tls.certificate.as_deref(), Some(pki.ca.as_path()));
        assert_eq!(otlp.tls.client_key.as_deref(), Some(pki.client.1.as_path()));
        export(&otlp)
            .await
            .unwrap_or_else(|e| panic!("{protocol}: {e}"));

        // Insecure with an `https` endpoint contradicts itself.
        let mut insecure = vars.clone();
        insecure.insert("OTEL_EXPORTER_OTLP_METRICS_INSECURE", "true".to_owned());
        let mut config = MetricsConfig::default();
        config
            .apply_env_from(|name| insecure.get(name).cloned())
            .unwrap();
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("otlp.tls.insecure"), "{error}");
        let mut bad = vars.clone();
        bad.insert("OTEL_EXPORTER_OTLP_INSECURE", "yes".to_owned());
        let error = MetricsConfig::default()
            .apply_env_from(|name| bad.get(name).cloned())
            .unwrap_err()
            .to_string();
        assert!(error.contains("OTEL_EXPORTER_OTLP_INSECURE"), "{error}");
    }
    assert_eq!(
        receiver
            .wait_for(2, std::time::Duration::from_secs(10))
            .len(),
        2
    );
}

#[test]
fn bad_tls_files_fail_the_exporter_creation_naming_the_file() {
    let pki = Pki::new();
    let missing = pki.dir.path().join("missing.pem");
    let garbage = pki.file(
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
    );
    let empty = pki.file("empty.pem", "no PEM here\n");
    let cases = [
        (
            tls(&missing, None),
            missing.clone(),
            "cannot read the CA certificate file",
        ),
        (tls(&garbage, None), garbage.clone(), "is not valid PEM"),
        (tls(&empty, None), empty.clone(), "holds no PEM certificate"),
        // A certificate where the key should be.
        (
            tls(&pki.ca, Some(&(pki.client.0.clone(), pki.client.0.clone()))),
            pki.client.0.clone(),
            "no usable PEM private key",
        ),
        (
            tls(&pki.ca, Some(&(missing.clone(), pki.client.1.clone()))),
            missing.clone(),
            "cannot read the client certificate file",
        ),
        // The server's key with the client's certificate.
        (
            tls(&pki.ca, Some(&(pki.client.0.clone(), pki.server.1.clone()))),
            pki.client.0.clone(),
            "do not go together",
        ),
    ];
    for protocol in [OtlpProtocol::Grpc, OtlpProtocol::HttpBinary] {
        for (tls, file, reason) in &cases {
            let config = otlp("https://127.0.0.1:1".to_owned(), protocol, tls.clone());
            let error = OtlpExporter::new(&MetricsConfig::default(), &config).unwrap_err();
            assert!(
                matches!(error, MetricsError::OtlpCreate { .. }),
                "{error:?}"
            );
            let message = error.to_string();
            assert!(message.contains(&file.display().to_string()), "{message}");
            assert!(message.contains(reason), "{message}");
            assert!(!message.contains("PRIVATE KEY"), "{message}");
        }
    }
    // A key's content never shows in Debug output, the configuration's or the exporter's.
    let key_text = std::fs::read_to_string(&pki.client.1).unwrap();
    let key_line = key_text.lines().nth(1).unwrap();
    let config = otlp(
        "https://127.0.0.1:1".to_owned(),
        OtlpProtocol::Grpc,
        tls(&pki.ca, Some(&pki.client)),
    );
    let exporter = OtlpExporter::new(&MetricsConfig::default(), &config).unwrap();
    for debug in [format!("{config:?}"), format!("{exporter:?}")] {
        assert!(!debug.contains(key_line), "{debug}");
    }
}

#[test]
fn tls_options_need_an_https_endpoint() {
    let pki = Pki::new();
    let check = |endpoint: &str, tls: OtlpTlsConfig| {
        let config = otlp(endpoint.to_owned(), OtlpProtocol::Grpc, tls);
        let error = OtlpExporter::new(&MetricsConfig::default(), &config).unwrap_err();
        assert!(matches!(error, MetricsError::Config { .. }), "{error:?}");
        error.to_string()
    };
    let error = check("http://127.0.0.1:4317", tls(&pki.ca, None));
    assert!(
        error.contains("otlp.tls.certificate") && error.contains("`https://`"),
        "{error}"
    );
    let error = check("http://127.0.0.1:4317", tls(&pki.ca, Some(&pki.client)));
    assert!(error.contains("`https://`"), "{error}");
    let half = OtlpTlsConfig {
        client_certificate: Some(pki.client.0.clone()),
        ..OtlpTlsConfig::default()
    };
    let error = check("https://127.0.0.1:4317", half);
    assert!(error.contains("otlp.tls.client_key"), "{error}");
    let insecure = OtlpTlsConfig {
        insecure: true,
        ..OtlpTlsConfig::default()
    };
    let error = check("https://127.0.0.1:4317", insecure.clone());
    assert!(error.contains("otlp.tls.insecure"), "{error}");
    // Insecure with `http://` is plain text, as asked.
    let config = otlp(
        "http://127.0.0.1:4317".to_owned(),
        OtlpProtocol::Grpc,
        insecure,
    );
    assert!(OtlpExporter::new(&MetricsConfig::default(), &config).is_ok());
    // The configuration file's form.
    let config = MetricsConfig::from_json(&format!(
        r#"{{"otlp": {{"endpoint": "https://127.0.0.1:4317", "tls": {{"certificate": {:?}}}}}}}"#,
        pki.ca.display().to_string()
    ))
    .unwrap();
    config.validate().unwrap();
    assert_eq!(config.otlp.unwrap().tls.certificate, Some(pki.ca.clone()));
}

/// Once a collector has asked for a client certificate, a closed connection is explained by
/// it; a refused one (the collector gone) is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_not_blamed_on_the_certificate() {
    let pki = Pki::new();
    for protocol in [OtlpProtocol::Grpc, OtlpProtocol::HttpBinary] {
        let receiver = pki.receiver(&pki.server, true);
        let config = OtlpConfig {
            timeout_seconds: 3.0,
            ..otlp(receiver.tls_url(protocol), protocol, tls(&pki.ca, None))
        };
        let exporter = OtlpExporter::new(&MetricsConfig::default(), &config).unwrap();
        let snapshot = support::example_snapshot();
        let asked = exporter.export(&snapshot).await.unwrap_err().to_string();
        assert!(asked.contains("client certificate"), "{protocol}: {asked}");
        drop(receiver); // killed: its port refuses connections
        let refused = exporter.export(&snapshot).await.unwrap_err().to_string();
        assert!(
            refused.contains("could not connect"),
            "{protocol}: {refused}"
        );
        assert!(!refused.contains("TLS"), "{protocol}: {refused}");
    }
}
