//! The example scheduler service (work in progress).

#![allow(dead_code)]

mod snapshot;

fn main() {
    for metric in <snapshot::MetricsSnapshot as metrics_core::MetricsGroup>::SCHEMA.metrics() {
        println!("{} {:?}", metric.name, metric.descriptor);
    }
}
