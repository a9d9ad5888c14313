//! [`SeriesValue`]: what one series of a [`Family`](super::Family) holds.

use crate::schema::ValueType;
use crate::{MetricValue, PointValue};

/// A live value that can be one series of a [`Family`](crate::Family): updated in place
/// through `&self` (atomics, [`Counter`](crate::Counter)), read as one point.
///
/// Implemented for every [`MetricValue`] (the std atomics among them).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the value of a `Family`",
    label = "not a series value",
    note = "a family's series are live values updated through `&self`: std atomics, `metrics_core::Counter`, or any `MetricValue`"
)]
pub trait SeriesValue {
    /// The numeric type of the series' points.
    const VALUE_TYPE: ValueType;

    /// Hands the series' current point to `emit`, or nothing when it has none.
    fn point(&self, emit: &mut dyn FnMut(PointValue<'_>));
}

impl<T: MetricValue> SeriesValue for T {
    const VALUE_TYPE: ValueType = T::VALUE_TYPE;

    #[inline]
    fn point(&self, emit: &mut dyn FnMut(PointValue<'_>)) {
        if let Some(value) = self.metric_value() {
            emit(PointValue::Number(value));
        }
    }
}
