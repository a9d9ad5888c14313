//! Label sets: map keys of several attributes, integer, bool and enum keys, through every
//! consumer (schema, catalog, JSON against serde_json, Prometheus); OTLP is checked against
//! the SDK path and the strict JSON parser in `otlp_encoding.rs`.

use std::collections::{BTreeMap, HashMap};

use metrics_core::{catalog, json, prometheus, LabelMap, LabelSet, LabelValue, MetricsGroup};
use serde::{Deserialize, Serialize};

/// serde writes variants as named; the label value is snake_case or renamed.
#[derive(
    LabelValue, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
)]
enum Method {
    Get,
    HttpPost,
    #[label(rename = "DEL")]
    Delete,
}

#[derive(LabelSet, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Route {
    #[label(rename = "http.route")]
    path: String,
    method: Method,
    status: u16,
    cached: bool,
}

#[derive(MetricsGroup, Serialize, Deserialize, Debug, PartialEq)]
struct Gateway {
    /// Requests by route.
    #[metric(counter)]
    requests: LabelMap<Route, u64>,
    /// Bytes by route and method.
    #[metric(counter, unit = "By", label = ("route", "method"))]
    bytes: LabelMap<(String, Method), u64>,
    /// Errors by status code.
    #[metric(counter, label = "status")]
    errors: BTreeMap<u16, u64>,
    /// Offsets by partition, negative ones too.
    #[metric(label = "partition")]
    offsets: BTreeMap<i32, i64>,
    /// Up by primary flag.
    #[metric(label = "primary")]
    up: BTreeMap<bool, u8>,
    /// Calls by method.
    #[metric(counter, label = "method")]
    calls: HashMap<Method, u64>,
    /// Renamed keys of a label set.
    #[metric(counter, label = ("r", "m", "s", "c"))]
    renamed: LabelMap<Route, u64>,
}

fn route(path: &str, method: Method, status: u16, cached: bool) -> Route {
    Route {
        path: path.to_owned(),
        method,
        status,
        cached,
    }
}

fn gateway() -> Gateway {
    Gateway {
        requests: LabelMap::from([
            (route("/users", Method::Get, 200, true), 7),
            (route("/a \"b\"\n\\", Method::HttpPost, 503, false), 1),
        ]),
        bytes: LabelMap::from([(("/users".to_owned(), Method::Delete), 1024)]),
        errors: BTreeMap::from([(404, 3), (500, 1)]),
        offsets: BTreeMap::from([(-1, -5), (2, 9)]),
        up: BTreeMap::from([(false, 0), (true, 1)]),
        calls: HashMap::from([(Method::HttpPost, 2)]),
        renamed: LabelMap::from([(route("/x", Method::Get, 204, false), 4)]),
    }
}

#[test]
fn the_schema_names_every_attribute_key() {
    let labels: Vec<(String, &[&str])> = Gateway::SCHEMA
        .metrics()
        .map(|m| (m.name, m.descriptor.labels))
        .collect();
    let expected: [(&str, &[&str]); 7] = [
        ("requests", &["http.route", "method", "status", "cached"]),
        ("bytes", &["route", "method"]),
        ("errors", &["status"]),
        ("offsets", &["partition"]),
        ("up", &["primary"]),
        ("calls", &["method"]),
        ("renamed", &["r", "m", "s", "c"]),
    ];
    for ((name, keys), (want_name, want_keys)) in labels.iter().zip(expected) {
        assert_eq!((name.as_str(), *keys), (want_name, want_keys));
    }
    let markdown = catalog::markdown::<Gateway>();
    assert!(
        markdown
            .contains("| `requests` | counter |  | `http.route`, `method`, `status`, `cached` |"),
        "{markdown}"
    );
}

#[test]
fn json_equals_serde_json_and_reads_back() {
    let gateway = gateway();
    for pretty in [false, true] {
        let (ours, theirs) = if pretty {
            (
                json::to_string_pretty(&gateway).unwrap(),
                serde_json::to_string_pretty(&gateway).unwrap(),
            )
        } else {
            (
                json::to_string(&gateway).unwrap(),
                serde_json::to_string(&gateway).unwrap(),
            )
        };
        assert_eq!(ours, theirs, "pretty: {pretty}");
        let back: Gateway = serde_json::from_str(&ours).unwrap();
        assert_eq!(back, gateway);
    }
    let text = json::to_string(&gateway).unwrap();
    // Integer and bool keys are quoted, enum keys use serde's name, label sets are pairs.
    assert!(text.contains(r#""errors":{"404":3,"500":1}"#), "{text}");
    assert!(text.contains(r#""up":{"false":0,"true":1}"#), "{text}");
    assert!(text.contains(r#""calls":{"HttpPost":2}"#), "{text}");
    assert!(
        text.contains(r#""bytes":[[["/users","Delete"],1024]]"#),
        "{text}"
    );
}

#[test]
fn prometheus_writes_every_label_escaped() {
    let mut text = Vec::new();
    prometheus::to_writer(&gateway(), &mut text).unwrap();
    let text = String::from_utf8(text).unwrap();
    for line in [
        r#"requests_total{http_route="/a \"b\"\n\\",method="http_post",status="503",cached="false"} 1"#,
        r#"requests_total{http_route="/users",method="get",status="200",cached="true"} 7"#,
        r#"bytes_bytes_total{route="/users",method="DEL"} 1024"#,
        r#"errors_total{status="404"} 3"#,
        r#"offsets{partition="-1"} -5"#,
        r#"up{primary="true"} 1"#,
        r#"calls_total{method="http_post"} 2"#,
        r#"renamed_total{r="/x",m="get",s="204",c="false"} 4"#,
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from\n{text}"
        );
    }
}

/// What a visitor sees: attribute values in the order of the schema's keys.
#[test]
fn points_carry_values_in_key_order() {
    struct Collect(Vec<Vec<String>>);
    impl metrics_core::Visitor for Collect {
        fn point(&mut self, labels: &[LabelValue<'_>], _: metrics_core::PointValue<'_>) {
            self.0
                .push(labels.iter().map(|l| format!("{l:?}")).collect());
        }
        fn advance(&mut self, _: usize) {}
    }
    let mut collect = Collect(Vec::new());
    let only = Gateway {
        requests: LabelMap::from([(route("/u", Method::Delete, 201, true), 1)]),
        bytes: LabelMap::new(),
        errors: BTreeMap::new(),
        offsets: BTreeMap::from([(-3, 1)]),
        up: BTreeMap::new(),
        calls: HashMap::new(),
        renamed: LabelMap::new(),
    };
    only.visit(&mut collect);
    assert_eq!(
        collect.0,
        [
            vec!["Str(\"/u\")", "Str(\"DEL\")", "I64(201)", "Bool(true)"],
            vec!["I64(-3)"],
        ]
    );
}
