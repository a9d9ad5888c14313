//! Derived groups on your own OpenTelemetry SDK (cargo feature `otel-sdk`).
//!
//! [`register`] puts a group's metrics on any [`opentelemetry::metrics::Meter`] as observable
//! instruments, one snapshot per collection for all of them; [`meter_provider`] builds an
//! [`SdkMeterProvider`](opentelemetry_sdk::metrics::SdkMeterProvider) that exports over OTLP
//! as a [`MetricsConfig`](crate::MetricsConfig) says, for one SDK pipeline carrying your own
//! instruments (histograms, say) and the derived groups.
//!
//! Metrics that cannot be bridged are listed by [`Registration::unbridged`]: the OpenTelemetry
//! API has no observable histogram, so a histogram-like kind can only be exported by this
//! crate's own exporters.

mod provider;
mod register;
mod snapshot;

pub use provider::meter_provider;
pub use register::{register, register_live, Registration, Unbridged};
