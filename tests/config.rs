//! Configuration: the reference files load unchanged, OTEL_* variables override, every invalid
//! value is an error naming the field, and secrets never show in `Debug`.

use std::collections::HashMap;

use metrics_core::config::{OtlpCompression, OtlpConfig, OtlpProtocol};
use metrics_core::{create_exporter, MetricsConfig, MetricsError};

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
    config.validate().unwrap();
}

#[test]
fn omitted_fields_take_the_reference_defaults() {
    let config: MetricsConfig =
        serde_json::from_str(r#"{"otlp": {"endpoint": "http://h:4317"}}"#).unwrap();
    assert!(config.enabled);
    assert_eq!(config.export_interval_seconds, 60);
    assert_eq!(config.service_name, "symbiont-scheduler");
    assert_eq!(config.service_namespace, "symbiont");
    let otlp = config.otlp.unwrap();
    assert_eq!(otlp.protocol, OtlpProtocol::Grpc);
    assert_eq!(otlp.timeout_seconds, 10.0);
    assert!(otlp.headers.is_empty());
    assert!(config.file.is_none());

    let defaults = MetricsConfig::default();
    assert!(defaults.file.as_ref().unwrap().pretty_print);
    assert!(defaults.otlp.is_none());
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
    assert_eq!(config.service_namespace, "ns");
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

#[test]
fn invalid_env_values_name_the_variable() {
    for (name, value) in [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "soon"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
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

#[test]
fn invalid_values_are_errors_naming_the_field() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"export_interval_seconds": 0, "file": {"path": "m.json"}}"#,
            "export_interval_seconds",
        ),
        (
            r#"{"service_name": " ", "file": {"path": "m.json"}}"#,
            "service_name",
        ),
        (r#"{"file": {"path": ""}}"#, "file.path"),
        (r#"{"otlp": {"endpoint": ""}}"#, "otlp.endpoint"),
        (
            r#"{"otlp": {"endpoint": "localhost:4317"}}"#,
            "otlp.endpoint",
        ),
        (r#"{"otlp": {"endpoint": "http://:4317"}}"#, "otlp.endpoint"),
        (
            r#"{"otlp": {"endpoint": "http://h:70000"}}"#,
            "otlp.endpoint",
        ),
        (
            r#"{"otlp": {"endpoint": "http://h:4317", "timeout_seconds": 0}}"#,
            "otlp.timeout_seconds",
        ),
        (
            r#"{"otlp": {"endpoint": "http://h:4317", "timeout_seconds": -1}}"#,
            "otlp.timeout_seconds",
        ),
        (
            r#"{"otlp": {"endpoint": "http://h:4317", "headers": {"bad header": "v"}}}"#,
            "otlp.headers.bad header",
        ),
    ];
    for (text, field) in cases {
        let config: MetricsConfig = serde_json::from_str(text).unwrap();
        let error = config.validate().unwrap_err();
        assert!(
            matches!(error, MetricsError::Config { .. }),
            "{text}: {error}"
        );
        assert!(
            error.to_string().contains(&format!("`{field}`")),
            "{text}: {error}"
        );
        // The factory validates too.
        assert!(create_exporter(&config).is_err(), "{text}");
    }
}

#[test]
fn malformed_documents_name_the_field() {
    let cases: &[(&str, &str)] = &[
        (r#"{"export_interval_seconds": "60"}"#, "invalid type"),
        (r#"{"enabled": "yes"}"#, "invalid type"),
        (
            r#"{"otlp": {"endpoint": "http://h", "protocol": "udp"}}"#,
            "unknown variant `udp`",
        ),
        (
            r#"{"otlp": {"protocol": "grpc"}}"#,
            "missing field `endpoint`",
        ),
        (
            r#"{"file": {"path": "m.json", "pretty": true}}"#,
            "unknown field `pretty`",
        ),
        (
            r#"{"exporter_interval_seconds": 5}"#,
            "unknown field `exporter_interval_seconds`",
        ),
        (
            r#"{"otlp": {"endpoint": "http://h", "headers": {"k": 1}}}"#,
            "invalid type",
        ),
        (
            r#"{"otlp": {"endpoint": "http://h", "compression": "zstd"}}"#,
            "unknown variant `zstd`",
        ),
    ];
    for (text, expected) in cases {
        let error = serde_json::from_str::<MetricsConfig>(text)
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{text}: {error}");
    }
}

#[test]
fn factory_requires_an_exporter_unless_disabled() {
    let none: MetricsConfig = serde_json::from_str("{}").unwrap();
    let error = create_exporter(&none).unwrap_err().to_string();
    assert!(error.contains("configure at least one exporter"), "{error}");

    let disabled: MetricsConfig = serde_json::from_str(r#"{"enabled": false}"#).unwrap();
    assert!(create_exporter(&disabled).is_ok());
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
