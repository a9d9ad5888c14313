//! Property tests on random input: configuration parsing never panics and its errors name a
//! field and never a header value; the derived JSON writer always equals serde_json and parses
//! back, for any values (NaN, infinities, subnormals, extremes, any Unicode).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use metrics_core::{create_exporter, json, MetricsConfig, MetricsError, MetricsGroup};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Configuration

/// Field names the configuration knows, so that random documents often reach deep fields.
const KEYS: &[&str] = &[
    "enabled",
    "export_interval_seconds",
    "service_name",
    "service_namespace",
    "resource_attributes",
    "otlp",
    "file",
    "endpoint",
    "protocol",
    "timeout_seconds",
    "headers",
    "compression",
    "path",
    "pretty_print",
];

/// Strings the configuration gives meaning to, and some that break URLs and paths.
const STRINGS: &[&str] = &[
    "grpc",
    "http/json",
    "http/protobuf",
    "httpbinary",
    "gzip",
    "none",
    "http://127.0.0.1:4317",
    "https://collector.example:4318/v1/metrics",
    "http://[::1]:4318",
    "http://h:99999",
    "http://user:pw@h:1",
    "",
    " ",
    "/",
    "..",
    "m.json",
    "/tmp/metrics-properties/m.json",
];

/// Endpoints, mostly valid.
const URLS: &[&str] = &[
    "http://127.0.0.1:4317",
    "http://127.0.0.1:4318/v1/metrics",
    "https://collector.example:4318",
    "http://[::1]:4318",
    "http://user:pw@h:1",
    "http://h:99999",
    "localhost:4317",
    "",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..100).prop_map(Value::from),
        prop::num::f64::NORMAL.prop_map(Value::from),
        (0.0f64..20.0).prop_map(Value::from),
        prop::sample::select(STRINGS).prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ]
}

/// Random JSON, mostly objects keyed by configuration field names.
fn document() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            1 => prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            3 => prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A plausible value most of the time, any JSON value otherwise.
fn mostly(plausible: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
    present(0.7, plausible)
}

/// Like [`mostly`], present with the given probability.
fn present(
    probability: f64,
    plausible: impl Strategy<Value = Value>,
) -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(probability, prop_oneof![19 => plausible, 1 => leaf()])
}

/// Objects with these optional fields, and now and then an unknown one.
fn object(fields: Vec<(&'static str, BoxedStrategy<Option<Value>>)>) -> BoxedStrategy<Value> {
    let (names, values): (Vec<&str>, Vec<_>) = fields.into_iter().unzip();
    (values, prop::option::weighted(0.03, (key(), leaf())))
        .prop_map(move |(values, extra)| {
            let mut object: serde_json::Map<String, Value> = names
                .iter()
                .zip(values)
                .filter_map(|(name, value)| Some((name.to_string(), value?)))
                .collect();
            if let Some((key, value)) = extra {
                object.insert(key, value);
            }
            Value::Object(object)
        })
        .boxed()
}

fn string(strings: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::sample::select(strings).prop_map(Value::from)
}

/// Documents shaped like configurations, so that many are valid or nearly so.
fn config_document() -> impl Strategy<Value = Value> {
    let otlp = object(vec![
        ("endpoint", present(0.95, string(URLS)).boxed()),
        (
            "protocol",
            mostly(string(&[
                "grpc",
                "http/json",
                "httpbinary",
                "http/protobuf",
                "httpjson",
                "http",
            ]))
            .boxed(),
        ),
        (
            "timeout_seconds",
            mostly((0.0f64..20.0).prop_map(Value::from)).boxed(),
        ),
        (
            "headers",
            mostly(
                prop::collection::btree_map("[a-z-]{1,8}", "[ -~]{0,10}", 0..3).prop_map(|map| {
                    Value::Object(map.into_iter().map(|(k, v)| (k, v.into())).collect())
                }),
            )
            .boxed(),
        ),
        (
            "compression",
            mostly(string(&["gzip", "none", "gzip", "none", "zstd"])).boxed(),
        ),
    ]);
    let file = object(vec![
        ("path", present(0.95, string(STRINGS)).boxed()),
        (
            "pretty_print",
            mostly(any::<bool>().prop_map(Value::from)).boxed(),
        ),
    ]);
    object(vec![
        (
            "enabled",
            mostly(any::<bool>().prop_map(Value::from)).boxed(),
        ),
        (
            "export_interval_seconds",
            mostly((0u64..100_000).prop_map(Value::from)).boxed(),
        ),
        (
            "service_name",
            mostly(string(&["svc", "svc", "svc", "", " "])).boxed(),
        ),
        ("otlp", mostly(otlp).boxed()),
        ("file", mostly(file).boxed()),
    ])
}

/// Header values that must never be shown, distinct from anything else in a document.
fn secret() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{12,24}".prop_map(|s| format!("sk-{s}"))
}

/// An `otlp` section around random headers whose values are secrets, or not even strings.
fn with_secret_headers() -> impl Strategy<Value = (Value, Vec<String>)> {
    (
        config_document(),
        prop::collection::vec(("[a-z!#-]{0,8}", secret()), 1..4),
        0..4u8,
    )
        .prop_map(|(mut rest, headers, shape)| {
            let secrets: Vec<String> = headers.iter().map(|(_, s)| s.clone()).collect();
            let header_values = match shape {
                // Valid, and invalid characters in one value.
                0 => Value::Object(headers.into_iter().map(|(k, v)| (k, v.into())).collect()),
                1 => Value::Object(
                    headers
                        .into_iter()
                        .map(|(k, v)| (k, format!("{v}\n").into()))
                        .collect(),
                ),
                // The wrong shape: a string or an array of the secrets.
                2 => Value::from(secrets.join(",")),
                _ => Value::from(secrets.clone()),
            };
            let mut otlp = serde_json::json!({"endpoint": "http://127.0.0.1:4317"});
            otlp["headers"] = header_values;
            if !rest.is_object() {
                rest = Value::Object(Default::default());
            }
            rest["otlp"] = otlp;
            (rest, secrets)
        })
}

/// What every configuration, valid or not, must satisfy.
fn check_config(text: &str) -> Result<(), TestCaseError> {
    let config = match MetricsConfig::from_json(text) {
        Ok(config) => config,
        Err(error) => {
            let message = error.to_string();
            prop_assert!(
                message.starts_with("invalid metrics configuration: `"),
                "{}",
                message
            );
            return Ok(());
        }
    };
    match config.validate() {
        Ok(()) => {
            // Valid values are usable: no overflow, the timeout is the one configured, and
            // the factory builds the exporters, failing only when there is none to build.
            prop_assert!(Instant::now()
                .checked_add(config.export_interval() * 2)
                .is_some());
            if let Some(otlp) = &config.otlp {
                let timeout = otlp.timeout();
                prop_assert!(timeout <= Duration::from_secs(3600), "{:?}", timeout);
                let error = (timeout.as_secs_f64() - otlp.timeout_seconds).abs();
                prop_assert!(error < 1e-9, "{:?} for {}", timeout, otlp.timeout_seconds);
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let built = runtime.block_on(async { create_exporter(&config).map(drop) });
            let has_backend = !config.enabled || config.file.is_some() || config.otlp.is_some();
            match built {
                Ok(()) => prop_assert!(has_backend, "built an exporter with no backend"),
                // A build without the protocol's transport says which feature to enable.
                Err(MetricsError::FeatureDisabled { feature, .. }) => prop_assert!(
                    (feature == "otlp-grpc" && !cfg!(feature = "otlp-grpc"))
                        || (feature == "otlp-http" && !cfg!(feature = "otlp-http")),
                    "`{}` is compiled in",
                    feature
                ),
                Err(error) => prop_assert!(
                    !has_backend
                        && error
                            .to_string()
                            .contains("configure at least one exporter"),
                    "{}",
                    error
                ),
            }
        }
        Err(error) => {
            let message = error.to_string();
            prop_assert!(message.contains('`'), "names no field: {}", message);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn any_text_parses_or_fails_without_panicking(text in any::<String>()) {
        check_config(&text)?;
    }

    #[test]
    fn any_document_parses_or_fails_naming_a_field(document in document()) {
        check_config(&document.to_string())?;
    }

    #[test]
    fn any_configuration_shaped_document_parses_or_fails_naming_a_field(
        document in config_document()
    ) {
        check_config(&document.to_string())?;
    }

    #[test]
    fn truncated_and_corrupted_documents_fail_cleanly(
        document in config_document(),
        cut in any::<prop::sample::Index>(),
        insert in any::<char>(),
    ) {
        let text = document.to_string();
        let mut chars: Vec<char> = text.chars().collect();
        let at = cut.index(chars.len() + 1);
        check_config(&chars[..at].iter().collect::<String>())?;
        chars.insert(at, insert);
        check_config(&chars.into_iter().collect::<String>())?;
    }

    #[test]
    fn header_values_never_show_in_errors_or_debug((document, secrets) in with_secret_headers()) {
        let text = document.to_string();
        let mut shown = Vec::new();
        match MetricsConfig::from_json(&text) {
            Ok(config) => {
                shown.push(format!("{config:?}"));
                shown.push(format!("{config:#?}"));
                if let Err(error) = config.validate() {
                    shown.push(error.to_string());
                    shown.push(format!("{error:?}"));
                }
            }
            Err(error) => {
                shown.push(error.to_string());
                shown.push(format!("{error:?}"));
            }
        }
        for text in &shown {
            for secret in &secrets {
                prop_assert!(!text.contains(secret.as_str()), "{} in {}", secret, text);
            }
        }
    }

    #[test]
    fn otel_variables_never_panic_and_errors_name_the_variable(
        values in prop::collection::vec(
            (prop::sample::select(&[
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                "OTEL_EXPORTER_OTLP_HEADERS",
                "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
                "OTEL_EXPORTER_OTLP_TIMEOUT",
                "OTEL_EXPORTER_OTLP_COMPRESSION",
                "OTEL_SERVICE_NAME",
                "OTEL_RESOURCE_ATTRIBUTES",
            ][..]), prop_oneof![
                any::<String>(),
                "[a-z%=,0-9 ]{0,20}",
                prop::sample::select(STRINGS).prop_map(str::to_owned),
            ]),
            0..6,
        )
    ) {
        let vars: HashMap<&str, String> = values.into_iter().collect();
        let mut config = MetricsConfig::default();
        if let Err(error) = config.apply_env_from(|name| vars.get(name).cloned()) {
            let message = error.to_string();
            prop_assert!(message.contains("OTEL_"), "{}", message);
        } else if config.validate().is_ok() {
            check_config(&serde_json::to_string(&config).unwrap())?;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON output

/// Every kind of field with ordered maps: the output must be byte-identical to serde_json's.
#[derive(MetricsGroup, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Ordered {
    #[metric(counter)]
    a_u64: u64,
    a_i64: i64,
    a_u8: u8,
    a_i32: i32,
    a_u128: u128,
    a_i128: i128,
    a_f64: f64,
    a_f32: f32,
    a_bool: bool,
    maybe: Option<f64>,
    #[metric(label = "k")]
    by_key: BTreeMap<String, f64>,
    #[metric(counter, label = "k")]
    counts: BTreeMap<String, u64>,
    inner: Inner,
    maybe_inner: Option<Inner>,
    #[metric(skip)]
    note: String,
}

#[derive(MetricsGroup, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Inner {
    value: f64,
    #[metric(label = "k")]
    signed: BTreeMap<String, i64>,
}

/// A `HashMap`, which both writers write in its iteration order.
#[derive(MetricsGroup, Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Unordered {
    #[metric(label = "k")]
    map: HashMap<String, f64>,
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::num::f64::ANY,
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        Just(-0.0),
        Just(5e-324),
    ]
}

fn inner() -> impl Strategy<Value = Inner> {
    (
        float(),
        prop::collection::btree_map(any::<String>(), any::<i64>(), 0..4),
    )
        .prop_map(|(value, signed)| Inner { value, signed })
}

prop_compose! {
    fn ordered()(
        (a_u64, a_i64, a_u8, a_i32, a_u128, a_i128) in (
            any::<u64>(), any::<i64>(), any::<u8>(), any::<i32>(), any::<u128>(), any::<i128>()
        ),
        (a_f64, a_f32, a_bool, maybe) in (
            float(), prop::num::f32::ANY, any::<bool>(), prop::option::of(float())
        ),
        by_key in prop::collection::btree_map(any::<String>(), float(), 0..5),
        counts in prop::collection::btree_map("\\PC{0,6}", any::<u64>(), 0..5),
        inner in inner(),
        maybe_inner in prop::option::of(inner()),
        note in any::<String>(),
    ) -> Ordered {
        Ordered {
            a_u64, a_i64, a_u8, a_i32, a_u128, a_i128, a_f64, a_f32, a_bool, maybe, by_key,
            counts, inner, maybe_inner, note,
        }
    }
}

/// Whether every float in `value` is finite, so that serde can read the document back into
/// the struct (serde_json writes non-finite floats as `null`).
fn all_finite(value: &Ordered) -> bool {
    let inner_finite = |inner: &Inner| inner.value.is_finite();
    value.a_f64.is_finite()
        && value.a_f32.is_finite()
        && value.maybe.is_none_or(f64::is_finite)
        && value.by_key.values().all(|v| v.is_finite())
        && inner_finite(&value.inner)
        && value.maybe_inner.as_ref().is_none_or(inner_finite)
}

proptest! {
    #[test]
    fn json_equals_serde_json_and_parses_back(value in ordered()) {
        let compact = json::to_string(&value).unwrap();
        prop_assert_eq!(&compact, &serde_json::to_string(&value).unwrap());
        let pretty = json::to_string_pretty(&value).unwrap();
        prop_assert_eq!(&pretty, &serde_json::to_string_pretty(&value).unwrap());
        prop_assert_eq!(json::to_vec(&value).unwrap(), compact.as_bytes());

        let parsed: Value = serde_json::from_str(&compact).unwrap();
        prop_assert_eq!(&parsed, &serde_json::from_str::<Value>(&pretty).unwrap());
        if all_finite(&value) {
            let back: Ordered = serde_json::from_str(&compact).unwrap();
            // Float equality, so compare the bits through the documents.
            prop_assert_eq!(serde_json::to_string(&back).unwrap(), compact);
        } else {
            prop_assert!(compact.contains("null"));
        }
    }

    #[test]
    fn json_of_hash_maps_is_serde_json(
        map in prop::collection::hash_map(any::<String>(), float(), 0..40)
    ) {
        let value = Unordered { map };
        prop_assert_eq!(json::to_string(&value).unwrap(), serde_json::to_string(&value).unwrap());
        prop_assert_eq!(
            json::to_string_pretty(&value).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }
}
