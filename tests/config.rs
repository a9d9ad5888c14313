//! Configuration: the reference files load unchanged, OTEL_* variables override, every invalid
//! value is an error naming the field, and secrets never show in `Debug`.

use std::collections::HashMap;

use metrics_core::config::{OtlpCompression, OtlpConfig, OtlpProtocol};
use metrics_core::{create_exporter, MetricsConfig, MetricsError, MetricsGroup};

/// A configuration written for the hand-written scheduler (its field names and values).
const REFERENCE_CONFIG: &str = r#"{
    "enabled": true,
    "export_interval_seconds": 30,
    "service_name": "symbiont-scheduler",
    "service_namespace": "symbiont",
    "otlp": {
        "endpoint": "http://localhost:4318/v1/metrics",
        "protocol": "httpbinary",
        "timeout_seconds": 5,
        "headers": { "x-api-key": "sk-live-123456" }
    },
    "file": { "path": "/tmp/symbiont_metrics.json", "pretty_print": false }
}"#;

#[test]
fn reference_config_loads_unchanged() {
    let config: MetricsConfig = serde_json::from_str(REFERENCE_CONFIG).unwrap();
    assert_eq!(config.export_interval_seconds, 30);
    let otlp = config.otlp.as_ref().unwrap();
    assert_eq!(otlp.protocol, OtlpProtocol::HttpBinary);
    assert_eq!(otlp.timeout_seconds, 5.0);
    assert_eq!(otlp.headers["x-api-key"], "sk-live-123456");
    assert!(!config.file.as_ref().unwrap().pretty_print);
    assert_eq!(config.service_name, "symbiont-scheduler");
    assert_eq!(config.service_namespace.as_deref(), Some("symbiont"));
    config.validate().unwrap();
}

#[test]
fn omitted_fields_take_neutral_defaults() {
    let config: MetricsConfig =
        serde_json::from_str(r#"{"otlp": {"endpoint": "http://h:4317"}}"#).unwrap();
    assert!(config.enabled);
    assert_eq!(config.export_interval_seconds, 60);
    assert_eq!(config.service_namespace, None);
    assert!(config.resource_attributes.is_empty());
    let otlp = config.otlp.unwrap();
    assert_eq!(otlp.protocol, OtlpProtocol::Grpc);
    assert_eq!(otlp.timeout_seconds, 10.0);
    assert!(otlp.headers.is_empty());
    assert!(config.file.is_none());
}

/// The default is what an empty document says: no exporter, so that a service that sets only
/// `OTEL_EXPORTER_OTLP_ENDPOINT` exports over OTLP and writes no file it never asked for.
#[test]
fn default_is_the_empty_document() {
    let default = MetricsConfig::default();
    assert_eq!(default, MetricsConfig::from_json("{}").unwrap());
    assert!(default.file.is_none());
    assert!(default.otlp.is_none());
    assert_eq!(default.service_namespace, None);
    let error = create_exporter(&default).unwrap_err().to_string();
    assert!(error.contains("configure at least one exporter"), "{error}");

    let mut from_env = MetricsConfig::default();
    from_env
        .apply_env_from(env(&[(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://127.0.0.1:4317",
        )]))
        .unwrap();
    assert!(from_env.file.is_none());
    assert_eq!(from_env.otlp.unwrap().endpoint, "http://127.0.0.1:4317");
}

/// OpenTelemetry's `unknown_service:<executable name>`, the executable being this test binary
/// (`config-<hash>`).
#[test]
fn default_service_name_is_unknown_service_and_the_executable() {
    let name = MetricsConfig::default().service_name;
    let executable = name.strip_prefix("unknown_service:").expect(&name);
    assert!(executable.starts_with("config-"), "{name}");
}

/// An absent namespace is absent in what the configuration writes back; an empty one is a
/// mistake (leave it out to send none).
#[test]
fn service_namespace_is_optional() {
    let written = serde_json::to_value(MetricsConfig::default()).unwrap();
    assert!(written.get("service_namespace").is_none(), "{written}");
    assert!(written.get("file").unwrap().is_null(), "{written}");

    let named = MetricsConfig::from_json(r#"{"service_namespace": "shop"}"#).unwrap();
    assert_eq!(named.service_namespace.as_deref(), Some("shop"));
    let written = serde_json::to_value(&named).unwrap();
    assert_eq!(written["service_namespace"], "shop");
}

#[test]
fn protocol_accepts_reference_and_otel_names() {
    for (text, expected) in [
        ("grpc", OtlpProtocol::Grpc),
        ("httpbinary", OtlpProtocol::HttpBinary),
        ("httpjson", OtlpProtocol::HttpJson),
        ("http/protobuf", OtlpProtocol::HttpBinary),
        ("http/json", OtlpProtocol::HttpJson),
    ] {
        let protocol: OtlpProtocol = serde_json::from_str(&format!("\"{text}\"")).unwrap();
        assert_eq!(protocol, expected, "{text}");
    }
    let error = serde_json::from_str::<OtlpProtocol>("\"http\"")
        .unwrap_err()
        .to_string();
    assert!(error.contains("http/protobuf"), "{error}");
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.get(name).cloned()
}

#[test]
fn otel_variables_override_the_file() {
    let mut config: MetricsConfig = serde_json::from_str(REFERENCE_CONFIG).unwrap();
    config
        .apply_env_from(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20abc,x-tenant=7",
            ),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "9999"),
            ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
            ("OTEL_SERVICE_NAME", "svc"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=ignored,deployment.environment=prod,service.namespace=ns",
            ),
        ]))
        .unwrap();
    let otlp = config.otlp.as_ref().unwrap();
    assert_eq!(otlp.protocol, OtlpProtocol::HttpJson);
    assert_eq!(otlp.endpoint, "http://collector:4318/v1/metrics");
    assert_eq!(otlp.export_url(), "http://collector:4318/v1/metrics");
    assert_eq!(otlp.headers["authorization"], "Bearer abc");
    assert_eq!(otlp.headers["x-tenant"], "7");
    assert_eq!(otlp.headers["x-api-key"], "sk-live-123456");
    assert_eq!(otlp.timeout_seconds, 2.5);
    assert_eq!(otlp.compression, OtlpCompression::Gzip);
    assert_eq!(config.service_name, "svc");
    assert_eq!(config.service_namespace.as_deref(), Some("ns"));
    assert_eq!(config.resource_attributes["deployment.environment"], "prod");
}

#[test]
fn metrics_specific_endpoint_is_used_as_is_and_enables_otlp() {
    let mut config = MetricsConfig::default();
    config
        .apply_env_from(env(&[
            (
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "http://c:4318/custom/path",
            ),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:1"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ]))
        .unwrap();
    let otlp = config.otlp.unwrap();
    assert_eq!(otlp.export_url(), "http://c:4318/custom/path");
}

/// The TLS variables: files, `true`/`false`; an empty one is one not set, so it cannot turn a
/// plain `http://` endpoint into an invalid configuration.
#[test]
fn tls_variables_set_the_tls_section() {
    let mut config = MetricsConfig::default();
    config
        .apply_env_from(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4317"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", " /etc/ca.pem "),
            (
                "OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE",
                "/etc/me.pem",
            ),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/etc/me.key"),
        ]))
        .unwrap();
    let tls = &config.otlp.as_ref().unwrap().tls;
    assert_eq!(tls.certificate.as_deref(), Some("/etc/ca.pem".as_ref()));
    assert_eq!(
        tls.client_certificate.as_deref(),
        Some("/etc/me.pem".as_ref())
    );
    assert_eq!(tls.client_key.as_deref(), Some("/etc/me.key".as_ref()));
    assert!(!tls.insecure);

    let mut config = MetricsConfig::default();
    config
        .apply_env_from(env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", ""),
            ("OTEL_EXPORTER_OTLP_INSECURE", "TRUE"),
        ]))
        .unwrap();
    let tls = &config.otlp.as_ref().unwrap().tls;
    assert_eq!(tls.certificate, None);
    assert!(tls.insecure);
    config.validate().unwrap();
}

#[test]
fn the_temporality_preference_comes_from_the_file_or_the_variable() {
    use metrics_core::config::Temporality;
    let from_file =
        load(r#"{"otlp": {"endpoint": "http://h:4317", "temporality": "delta"}}"#).unwrap();
    assert_eq!(from_file.otlp.unwrap().temporality, Temporality::Delta);
    let name = "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE";
    for (value, want) in [
        ("Delta", Temporality::Delta),
        ("CUMULATIVE", Temporality::Cumulative),
        ("lowmemory", Temporality::LowMemory),
    ] {
        let mut config = MetricsConfig {
            otlp: Some(OtlpConfig::new("http://h:4317")),
            ..MetricsConfig::default()
        };
        config.apply_env_from(env(&[(name, value)])).unwrap();
        assert_eq!(config.otlp.unwrap().temporality, want, "{value}");
    }
    // Only the metrics-specific variable exists in the specification.
    let mut config = MetricsConfig {
        otlp: Some(OtlpConfig::new("http://h:4317")),
        ..MetricsConfig::default()
    };
    config
        .apply_env_from(env(&[(
            "OTEL_EXPORTER_OTLP_TEMPORALITY_PREFERENCE",
            "delta",
        )]))
        .unwrap();
    assert_eq!(config.otlp.unwrap().temporality, Temporality::Cumulative);
}

#[test]
fn invalid_env_values_name_the_variable() {
    for (name, value) in [
        ("OTEL_EXPORTER_OTLP_INSECURE", "yes"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=%zz"),
        ("OTEL_EXPORTER_OTLP_METRICS_HEADERS", "a=b,=c"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
            "sometimes",
        ),
    ] {
        let mut config = MetricsConfig {
            otlp: Some(OtlpConfig::new("http://h:4317")),
            ..MetricsConfig::default()
        };
        let error = config
            .apply_env_from(env(&[(name, value)]))
            .unwrap_err()
            .to_string();
        assert!(error.contains(name), "{error}");
    }
}

#[test]
fn invalid_header_variables_never_show_a_value() {
    // A pair without `=` may be the key alone: it is not shown either.
    for value in [
        "sk-live-123456",
        "x-api-key=sk-live-123456%zz",
        "ok=1,sk-live-123456",
    ] {
        let mut config = MetricsConfig::default();
        let error = config
            .apply_env_from(env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://h:4317"),
                ("OTEL_EXPORTER_OTLP_HEADERS", value),
            ]))
            .unwrap_err();
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(shown.contains("OTEL_EXPORTER_OTLP_HEADERS"), "{shown}");
            assert!(!shown.contains("sk-live"), "{value}: {shown}");
        }
    }
}

#[test]
fn debug_never_shows_header_values() {
    let mut config: MetricsConfig = serde_json::from_str(REFERENCE_CONFIG).unwrap();
    config
        .apply_env_from(env(&[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer%20TOPSECRET",
        )]))
        .unwrap();
    for text in [
        format!("{config:?}"),
        format!("{config:#?}"),
        format!("{:?}", config.otlp),
    ] {
        assert!(!text.contains("sk-live-123456"), "{text}");
        assert!(!text.contains("TOPSECRET"), "{text}");
        assert!(text.contains("x-api-key"), "{text}");
    }
    let mut bad = config.otlp.clone().unwrap();
    bad.headers
        .insert("x-api-key".into(), "sk-live-123456\n".into());
    config.otlp = Some(bad);
    let error = config.validate().unwrap_err().to_string();
    assert!(error.contains("otlp.headers.x-api-key"), "{error}");
    assert!(!error.contains("sk-live"), "{error}");
}

/// A secret header value used in the malformed documents below: no error may show it.
const SECRET: &str = "sk-live-123456";

/// Malformed configurations: wrong types, unknown fields and values, bad JSON, and values that
/// parse but do not validate. Each: the document, the field its error must name, and a part
/// of the message saying what is wrong.
#[rustfmt::skip]
const MALFORMED: &[(&str, &str, &str)] = &[
    // Wrong types.
    (r#"{"export_interval_seconds": "60"}"#, "export_interval_seconds", "invalid type: string"),
    (r#"{"export_interval_seconds": 1.5}"#, "export_interval_seconds", "invalid type: floating point"),
    (r#"{"export_interval_seconds": -5}"#, "export_interval_seconds", "invalid value: integer `-5`"),
    (r#"{"enabled": "yes"}"#, "enabled", "expected a boolean"),
    (r#"{"service_name": 5}"#, "service_name", "expected a string"),
    (r#"{"resource_attributes": {"k": 1}}"#, "resource_attributes.k", "expected a string"),
    (r#"{"otlp": {"endpoint": 5}}"#, "otlp.endpoint", "expected a string"),
    (r#"{"otlp": {"endpoint": "http://h", "timeout_seconds": "10"}}"#, "otlp.timeout_seconds", "expected f64"),
    (r#"{"otlp": {"endpoint": "http://h", "protocol": null}}"#, "otlp.protocol", "expected value"),
    (r#"{"otlp": {"endpoint": "http://h", "spool": {"dir": ""}}}"#, "otlp.spool.dir", "must not be empty"),
    (r#"{"otlp": {"endpoint": "http://h", "spool": {"dir": "s", "max_bytes": 100}}}"#, "otlp.spool.max_bytes", "must be at least 4096"),
    (r#"{"otlp": {"endpoint": "http://h", "spool": {"dir": "s", "max_age_seconds": 0}}}"#, "otlp.spool.max_age_seconds", "must be at least 1"),
    (r#"{"otlp": {"endpoint": "http://h", "spool": {"dir": "s", "max_files": 3}}}"#, "otlp.spool.max_files", "unknown field `max_files`"),
    (r#"{"otlp": {"endpoint": "http://h", "temporality": "Delta"}}"#, "otlp.temporality", "unknown variant `Delta`"),
    (r#"{"file": {"path": "m.jsonl", "format": "otlp_json", "max_bytes": 10}}"#, "file.max_bytes", "must be at least 4096"),
    (r#"{"file": {"path": "m.jsonl", "format": "otlp"}}"#, "file.format", "unknown variant `otlp`"),
    (r#"{"file": {"path": 5}}"#, "file.path", "invalid type: integer"),
    (r#"{"file": {"path": "m.json", "pretty_print": "yes"}}"#, "file.pretty_print", "expected a boolean"),
    // Headers of the wrong shape: the value is never shown.
    (r#"{"otlp": {"endpoint": "http://h", "headers": {"x-api-key": 123456}}}"#, "otlp.headers.x-api-key", "not shown"),
    (r#"{"otlp": {"endpoint": "http://h", "headers": "x-api-key=sk-live-123456"}}"#, "otlp.headers", "not shown"),
    (r#"{"otlp": {"endpoint": "http://h", "headers": ["sk-live-123456"]}}"#, "otlp.headers", "not shown"),
    // Unknown protocols, compressions and fields; missing fields.
    (r#"{"otlp": {"endpoint": "http://h", "protocol": "udp"}}"#, "otlp.protocol", "unknown variant `udp`, expected one of `grpc`, `http/protobuf`"),
    (r#"{"otlp": {"endpoint": "http://h", "compression": "zstd"}}"#, "otlp.compression", "unknown variant `zstd`"),
    (r#"{"otlp": {"protocol": "grpc"}}"#, "otlp", "missing field `endpoint`"),
    (r#"{"file": {}}"#, "file", "missing field `path`"),
    (r#"{"exporter_interval_seconds": 5}"#, "exporter_interval_seconds", "unknown field `exporter_interval_seconds`, expected one of"),
    (r#"{"file": {"path": "m.json", "pretty": true}}"#, "file.pretty", "unknown field `pretty`"),
    (r#"{"otlp": {"endpoint": "http://h", "header": {}}}"#, "otlp.header", "unknown field `header`"),
    // Not a configuration at all.
    (r#"[]"#, "(document)", "expected an object"),
    (r#"[true, 60]"#, "(document)", "expected an object"),
    (r#"{"otlp": ["http://h:4317"]}"#, "otlp", "expected an object"),
    (r#"{"file": ["m.json", true]}"#, "file", "expected an object"),
    (r#"null"#, "(document)", "invalid type: null"),
    (r#"{"enabled": true,}"#, "(document)", "trailing comma"),
    (r#"{"otlp": {"endpoint": "http://h""#, "otlp", "EOF while parsing"),
    (r#"{} trailing"#, "(document)", "trailing characters"),
    // Well-formed, but invalid values.
    (r#"{"export_interval_seconds": 0, "file": {"path": "m.json"}}"#, "export_interval_seconds", "must be at least 1"),
    (r#"{"export_interval_seconds": 18446744073709551615, "file": {"path": "m.json"}}"#, "export_interval_seconds", "must be at most 86400"),
    (r#"{"service_name": " ", "file": {"path": "m.json"}}"#, "service_name", "must not be empty"),
    (r#"{"service_namespace": "", "file": {"path": "m.json"}}"#, "service_namespace", "leave it out"),
    (r#"{"service_namespace": 5}"#, "service_namespace", "expected a string"),
    (r#"{"file": {"path": ""}}"#, "file.path", "must not be empty"),
    (r#"{"file": {"path": "/"}}"#, "file.path", "must name a file"),
    (r#"{"otlp": {"endpoint": ""}}"#, "otlp.endpoint", "expected an `http://` URL"),
    (r#"{"otlp": {"endpoint": "localhost:4317"}}"#, "otlp.endpoint", "expected an `http://` URL"),
    (r#"{"otlp": {"endpoint": "ftp://h:21"}}"#, "otlp.endpoint", "expected an `http://` URL"),
    (r#"{"otlp": {"endpoint": "http://:4317"}}"#, "otlp.endpoint", "the URL has no host"),
    (r#"{"otlp": {"endpoint": "http://h:4317", "tls": {"certificate": "ca.pem"}}}"#, "otlp.tls.certificate", "TLS files need an `https://` endpoint"),
    (r#"{"otlp": {"endpoint": "http://h:4317", "tls": {"client_key": "k.pem"}}}"#, "otlp.tls.client_key", "TLS files need an `https://` endpoint"),
    (r#"{"otlp": {"endpoint": "http://h:4317", "tls": {"insecure": "yes"}}}"#, "otlp.tls.insecure", "expected a boolean"),
    (r#"{"otlp": {"endpoint": "http://h:4317", "tls": {"ca": "ca.pem"}}}"#, "otlp.tls.ca", "unknown field `ca`"),
    (r#"{"otlp": {"endpoint": "http://user:pw@h:4317"}}"#, "otlp.endpoint", "put them in `headers`"),
    (r#"{"otlp": {"endpoint": "http://h:70000"}}"#, "otlp.endpoint", "the port must be a number"),
    (r#"{"otlp": {"endpoint": "http://h st:4317"}}"#, "otlp.endpoint", "cannot contain spaces"),
    (r#"{"otlp": {"endpoint": "http://[::1:4317"}}"#, "otlp.endpoint", "unclosed `[`"),
    (r#"{"otlp": {"endpoint": "http://h:4317", "timeout_seconds": 0}}"#, "otlp.timeout_seconds", "must be a positive number"),
    (r#"{"otlp": {"endpoint": "http://h:4317", "timeout_seconds": -1}}"#, "otlp.timeout_seconds", "must be a positive number"),
    (r#"{"otlp": {"endpoint": "http://h:4317", "timeout_seconds": 3601}}"#, "otlp.timeout_seconds", "must be at most 3600"),
    (r#"{"otlp": {"endpoint": "http://h:4317", "headers": {"bad header": "v"}}}"#, "otlp.headers.bad header", "header names use"),
    (r#"{"otlp": {"endpoint": "http://h:4317", "headers": {"": "v"}}}"#, "otlp.headers.", "header names use"),
    (r#"{"otlp": {"endpoint": "http://h:4317", "headers": {"x-api-key": "sk-live-123456\n"}}}"#, "otlp.headers.x-api-key", "header values use visible ASCII"),
    (r#"{"otlp": {"endpoint": "http://h:4317", "headers": {"x-api-key": "sk-live-123456\u00e9"}}}"#, "otlp.headers.x-api-key", "header values use visible ASCII"),
];

/// Parses and validates, as a service loading its configuration does.
fn load(text: &str) -> Result<MetricsConfig, MetricsError> {
    let config = MetricsConfig::from_json(text)?;
    config.validate()?;
    Ok(config)
}

/// `https` comes with the OTLP transports' TLS; a build without one says which feature to
/// enable.
#[test]
fn https_needs_a_build_with_an_otlp_transport() {
    let result = load(r#"{"otlp": {"endpoint": "https://h:4317"}}"#);
    if cfg!(any(feature = "otlp-grpc", feature = "otlp-http")) {
        result.unwrap();
    } else {
        let message = result.unwrap_err().to_string();
        assert!(message.contains("`otlp.endpoint`"), "{message}");
        assert!(message.contains("`https` needs TLS"), "{message}");
        assert!(message.contains("`otlp-grpc` or `otlp-http`"), "{message}");
    }
}

#[test]
fn malformed_configs_are_errors_naming_the_field() {
    assert!(MALFORMED.len() >= 20);
    let dir = tempfile::tempdir().unwrap();
    for (text, field, reason) in MALFORMED {
        let error = load(text).expect_err(text);
        assert!(
            matches!(
                error,
                MetricsError::Config { .. } | MetricsError::ConfigParse { .. }
            ),
            "{text}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with("invalid metrics configuration: "),
            "{text}: {message}"
        );
        assert!(message.contains(&format!("`{field}`")), "{text}: {message}");
        assert!(message.contains(reason), "{text}: {message}");
        for shown in [message, format!("{error:?}")] {
            assert!(!shown.contains(SECRET), "{text}: {shown}");
            assert!(!shown.contains("123456"), "{text}: {shown}");
        }
        // The factory validates too, and a file says the same, naming the file.
        if let Ok(config) = MetricsConfig::from_json(text) {
            assert!(create_exporter(&config).is_err(), "{text}");
        } else {
            let path = dir.path().join("metrics.json");
            std::fs::write(&path, text).unwrap();
            let message = MetricsConfig::from_file(&path).unwrap_err().to_string();
            assert!(message.contains("metrics.json"), "{text}: {message}");
            assert!(message.contains(&format!("`{field}`")), "{text}: {message}");
            assert!(!message.contains(SECRET), "{text}: {message}");
        }
    }
}

#[test]
fn the_spool_takes_default_limits() {
    let config =
        load(r#"{"otlp": {"endpoint": "http://h:4317", "spool": {"dir": "/var/spool/m"}}}"#)
            .unwrap();
    let spool = config.otlp.unwrap().spool.unwrap();
    assert_eq!(
        spool,
        metrics_core::config::SpoolConfig::new("/var/spool/m")
    );
    assert_eq!((spool.max_bytes, spool.max_age_seconds), (64 << 20, 86_400));
}

#[test]
fn from_json_reads_what_serde_json_reads() {
    let ours = MetricsConfig::from_json(REFERENCE_CONFIG).unwrap();
    let theirs: MetricsConfig = serde_json::from_str(REFERENCE_CONFIG).unwrap();
    assert_eq!(ours, theirs);
}

#[test]
fn factory_requires_an_exporter_unless_disabled() {
    let none: MetricsConfig = serde_json::from_str("{}").unwrap();
    let error = create_exporter(&none).unwrap_err().to_string();
    assert!(error.contains("configure at least one exporter"), "{error}");
    // Disabled, none is needed; what it does is `a_disabled_configuration_exports_nothing`.
    let disabled: MetricsConfig = serde_json::from_str(r#"{"enabled": false}"#).unwrap();
    create_exporter(&disabled).unwrap();
}

/// `enabled: false` with both backends configured: exports and shutdown succeed, no file (nor
/// temporary file) is written and no connection reaches the collector's port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_configuration_exports_nothing() {
    #[derive(MetricsGroup)]
    struct Requests {
        #[metric(counter)]
        requests_total: u64,
    }
    let dir = tempfile::tempdir().unwrap();
    let collector = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    collector.set_nonblocking(true).unwrap();
    for protocol in [
        OtlpProtocol::Grpc,
        OtlpProtocol::HttpBinary,
        OtlpProtocol::HttpJson,
    ] {
        let text = serde_json::json!({
            "enabled": false,
            "file": {"path": dir.path().join("metrics.json")},
            "otlp": {
                "endpoint": format!("http://{}", collector.local_addr().unwrap()),
                "protocol": protocol.as_str(),
            },
        })
        .to_string();
        let exporter = create_exporter(&MetricsConfig::from_json(&text).unwrap()).unwrap();
        for requests_total in 1..=3 {
            exporter.export(&Requests { requests_total }).await.unwrap();
        }
        exporter.shutdown().await.unwrap();
        let written: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(written.is_empty(), "{protocol}: {written:?}");
        let connection = collector.accept();
        assert!(
            matches!(&connection, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "{protocol}: the collector was contacted: {connection:?}"
        );
    }
}

#[test]
fn config_file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.json");
    std::fs::write(&path, r#"{"otlp": {"endpoint": 5}}"#).unwrap();
    let error = MetricsConfig::from_file(&path).unwrap_err().to_string();
    assert!(error.contains("metrics.json"), "{error}");
    let missing = MetricsConfig::from_file(dir.path().join("nope.json"))
        .unwrap_err()
        .to_string();
    assert!(missing.contains("nope.json"), "{missing}");
}

#[test]
fn credentials_in_the_endpoint_are_refused_without_being_repeated() {
    let config: MetricsConfig =
        serde_json::from_str(r#"{"otlp": {"endpoint": "http://admin:hunter2@collector:4318"}}"#)
            .unwrap();
    let error = config.validate().unwrap_err().to_string();
    assert!(
        error.contains("otlp.endpoint") && error.contains("headers"),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");
}

/// Each build (CI builds each feature set) makes the transports it includes, and says which
/// cargo feature provides one it does not.
#[test]
fn each_transport_is_built_or_names_its_feature() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (protocol, feature, compiled) in [
        (OtlpProtocol::Grpc, "otlp-grpc", cfg!(feature = "otlp-grpc")),
        (
            OtlpProtocol::HttpBinary,
            "otlp-http",
            cfg!(feature = "otlp-http"),
        ),
        (
            OtlpProtocol::HttpJson,
            "otlp-http",
            cfg!(feature = "otlp-http"),
        ),
    ] {
        let config = MetricsConfig {
            otlp: Some(OtlpConfig {
                protocol,
                ..OtlpConfig::new("http://127.0.0.1:4317")
            }),
            ..MetricsConfig::default()
        };
        let built = runtime.block_on(async { create_exporter(&config) });
        match built {
            Ok(exporter) => {
                assert!(compiled, "{protocol} built without `{feature}`");
                assert!(exporter.name().starts_with("otlp "), "{}", exporter.name());
            }
            Err(error) => {
                assert!(!compiled, "{protocol}: {error}");
                let message = error.to_string();
                assert!(message.contains(&format!("`{feature}`")), "{message}");
            }
        }
    }
}

/// The specification's table per instrument kind: a group's counters are asynchronous
/// counters, its histograms synchronous histograms.
#[test]
fn each_temporality_preference_makes_its_kinds_delta() {
    use metrics_core::config::Temporality;
    for (preference, counters, histograms) in [
        (Temporality::Cumulative, false, false),
        (Temporality::Delta, true, true),
        (Temporality::LowMemory, false, true),
    ] {
        assert_eq!(
            (
                preference.counters_are_delta(),
                preference.histograms_are_delta()
            ),
            (counters, histograms),
            "{preference:?}"
        );
    }
}
