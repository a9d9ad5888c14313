//! What an encoder prepares once per group type (names, headers), kept for the life of the
//! program like the `&'static` schema it comes from, and found by the schema's address.

use std::sync::{PoisonError, RwLock};

use super::GroupSchema;

/// One encoder's prepared parts, one `T` per group type ever encoded. Each encoder declares
/// its own: `static CACHE: PerSchema<Prepared> = PerSchema::new();`.
pub(crate) struct PerSchema<T: 'static> {
    entries: RwLock<Vec<(&'static GroupSchema, &'static T)>>,
}

impl<T: Sync + 'static> PerSchema<T> {
    pub(crate) const fn new() -> Self {
        PerSchema {
            entries: RwLock::new(Vec::new()),
        }
    }

    /// The `T` of `schema`, built by `prepare` the first time it is asked for.
    pub(crate) fn get(
        &self,
        schema: &'static GroupSchema,
        prepare: impl FnOnce(&'static GroupSchema) -> T,
    ) -> &'static T {
        type Entries<T> = Vec<(&'static GroupSchema, &'static T)>;
        let find = |entries: &Entries<T>| {
            entries
                .iter()
                .find(|(s, _)| std::ptr::eq(*s, schema))
                .map(|&(_, t)| t)
        };
        if let Some(found) = find(&self.entries.read().unwrap_or_else(PoisonError::into_inner)) {
            return found;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = find(&entries) {
            return found;
        }
        let prepared: &'static T = Box::leak(Box::new(prepare(schema)));
        entries.push((schema, prepared));
        prepared
    }
}
