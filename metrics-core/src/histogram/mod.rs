//! Histograms for hot paths and their plain-data snapshots: [`Histogram`] (explicit
//! buckets) and [`ExponentialHistogram`] (OpenTelemetry's base-2 exponential buckets).

mod explicit;
mod exponential;
mod exponential_snapshot;
mod mapping;
mod shard;
mod snapshot;
mod window;

pub use explicit::Histogram;
pub use exponential::{
    ExponentialHistogram, ExponentialHistogramSnapshot, MAX_EXPONENTIAL_BUCKETS,
};
pub(crate) use mapping::lower_boundary;
pub use snapshot::HistogramSnapshot;
