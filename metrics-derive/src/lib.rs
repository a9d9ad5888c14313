//! `#[derive(MetricsGroup)]`: use it through `metrics_core`, which re-exports it.
//!
//! A pipeline, one stage per module: `ast` parses the input into a model where each field
//! has one role (with `attr` reading the attributes), `check` applies the rules the tokens
//! can judge (with the name and unit rules of `metrics_rules`), `expand` generates the impl
//! and `const` checks of what only the field types can tell.
//! Every error of every stage is collected and reported together, and a fallback impl keeps
//! code that uses the type from failing with unrelated errors.

mod ast;
mod attr;
mod check;
mod errors;
mod expand;
mod labels;
mod prometheus_names;
mod serde_attr;

use proc_macro::TokenStream;

/// Implements `metrics_core::MetricsGroup` for a struct with named fields.
#[proc_macro_derive(MetricsGroup, attributes(metric, metrics))]
pub fn derive_metrics_group(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    expand::derive(&input).into()
}

/// Implements `metrics_core::LabelSet` for a struct whose fields are label values.
#[proc_macro_derive(LabelSet, attributes(label))]
pub fn derive_label_set(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    labels::derive_label_set(&input).into()
}

/// Implements `metrics_core::ToLabelValue` and `LabelSet` for a unit-only enum.
#[proc_macro_derive(LabelValue, attributes(label))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    labels::derive_label_value(&input).into()
}
