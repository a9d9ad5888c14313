//! Incrementing an existing three-attribute series (route, method, status): a
//! `metrics_core::Family` against the OpenTelemetry SDK's counter `add(1, &attributes)`,
//! prometheus-client's `Family::get_or_create(&labels).inc()` and measured's
//! `CounterVec::inc(labels)`, in one run.
//!
//! ```text
//! cargo bench --bench family -- --warm-up-time 1 --measurement-time 2
//! BENCH_PAIRED=family cargo bench --bench family
//! ```

mod support;

use std::hint::black_box;

use lasso::ThreadedRodeo;
use measured::{CounterVec, FixedCardinalityLabel, LabelGroup};
use metrics_core::{Counter, Family, LabelSet, LabelValue};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use support::Routine;

#[derive(LabelValue, EncodeLabelValue, Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Method {
    Get,
    Post,
}

/// Our key, and prometheus-client's: the same type, so both hash the same fields.
#[derive(LabelSet, EncodeLabelSet, Clone, Debug, PartialEq, Eq, Hash)]
struct Request {
    route: String,
    method: Method,
    status: u16,
}

/// measured's: routes interned in a `ThreadedRodeo`, the others enums of fixed cardinality.
#[derive(LabelGroup, Clone, Copy)]
#[label(set = MeasuredRequestSet)]
struct MeasuredRequest<'a> {
    #[label(dynamic_with = ThreadedRodeo)]
    route: &'a str,
    method: MeasuredMethod,
    status: MeasuredStatus,
}

#[derive(FixedCardinalityLabel, Clone, Copy)]
enum MeasuredMethod {
    Get,
    Post,
}

#[derive(FixedCardinalityLabel, Clone, Copy)]
enum MeasuredStatus {
    Ok = 200,
    NotFound = 404,
}

const ROUTES: [&str; 3] = ["/users", "/users/{id}", "/orders"];

fn routines() -> Vec<Routine> {
    let group = "family_inc_existing_3_attributes";
    let key = Request {
        route: ROUTES[0].to_owned(),
        method: Method::Get,
        status: 200,
    };

    // Each peer holds a few series, the benchmarked one among them.
    let ours: Family<Request, Counter> = Family::new();
    let client = prometheus_client::metrics::family::Family::<
        Request,
        prometheus_client::metrics::counter::Counter,
    >::default();
    let measured = CounterVec::with_label_set(MeasuredRequestSet::new(ThreadedRodeo::new()));
    let reader = ManualReader::builder().build();
    let provider = SdkMeterProvider::builder().with_reader(reader).build();
    let sdk = provider.meter("bench").u64_counter("requests").build();
    for route in ROUTES {
        for (method, measured_method) in [
            (Method::Get, MeasuredMethod::Get),
            (Method::Post, MeasuredMethod::Post),
        ] {
            let other = Request {
                route: route.to_owned(),
                method,
                status: 404,
            };
            ours.get_or_create(&other).inc();
            client.get_or_create(&other).inc();
            measured.inc(MeasuredRequest {
                route,
                method: measured_method,
                status: MeasuredStatus::NotFound,
            });
            sdk.add(1, &attributes(&other));
        }
    }
    let measured_key = MeasuredRequest {
        route: ROUTES[0],
        method: MeasuredMethod::Get,
        status: MeasuredStatus::Ok,
    };
    let sdk_attributes = attributes(&key);
    ours.get_or_create(&key).inc();
    client.get_or_create(&key).inc();
    measured.inc(measured_key);
    sdk.add(1, &sdk_attributes);

    let ours_key = key.clone();
    vec![
        Routine::new(group, "metrics_core", move || {
            black_box(&ours).get_or_create(black_box(&ours_key)).inc();
        }),
        Routine::new(group, "opentelemetry_sdk", move || {
            black_box(&sdk).add(1, black_box(&sdk_attributes));
        }),
        Routine::new(group, "measured", move || {
            black_box(&measured).inc(black_box(measured_key));
        }),
        Routine::new(group, "prometheus_client", move || {
            black_box(&client).get_or_create(black_box(&key)).inc();
        }),
    ]
}

fn attributes(key: &Request) -> [KeyValue; 3] {
    [
        KeyValue::new("route", key.route.clone()),
        KeyValue::new(
            "method",
            match key.method {
                Method::Get => "GET",
                Method::Post => "POST",
            },
        ),
        KeyValue::new("status", i64::from(key.status)),
    ]
}

fn main() {
    support::main(routines, |_, _| {});
}
