//! The model of a derive input: the struct and its fields with their parsed attributes,
//! keeping the original syn nodes for error spans.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, Type};

use crate::attr::{ContainerAttrs, FieldAttrs};
use crate::errors::Errors;

/// A struct deriving `MetricsGroup`.
pub(crate) struct Container<'a> {
    pub(crate) input: &'a DeriveInput,
    pub(crate) attrs: ContainerAttrs,
    pub(crate) fields: Vec<Field<'a>>,
}

/// One named field.
pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: FieldAttrs,
}

impl<'a> Container<'a> {
    /// Reads the input; shapes other than a non-generic struct with named fields are errors.
    pub(crate) fn from_syn(input: &'a DeriveInput, errors: &mut Errors) -> Container<'a> {
        let attrs = ContainerAttrs::parse(&input.attrs, errors);
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => named
                    .named
                    .iter()
                    .filter_map(|field| {
                        Some(Field {
                            ident: field.ident.as_ref()?,
                            ty: &field.ty,
                            attrs: FieldAttrs::parse(&field.attrs, errors),
                        })
                    })
                    .collect(),
                Fields::Unnamed(_) => {
                    errors.at(
                        data.fields.span(),
                        "`MetricsGroup` needs named fields: a tuple struct's fields have no metric names",
                    );
                    Vec::new()
                }
                Fields::Unit => {
                    errors.at(
                        input.ident.span(),
                        "`MetricsGroup` needs a struct with named fields; a unit struct has no metrics",
                    );
                    Vec::new()
                }
            },
            Data::Enum(data) => {
                errors.at(
                    data.enum_token.span,
                    "`MetricsGroup` can only be derived for a struct with named fields, not an enum",
                );
                Vec::new()
            }
            Data::Union(data) => {
                errors.at(
                    data.union_token.span,
                    "`MetricsGroup` can only be derived for a struct with named fields, not a union",
                );
                Vec::new()
            }
        };
        if let Some(param) = input.generics.params.first() {
            errors.at(
                param.span(),
                "`MetricsGroup` cannot be derived for a generic struct: its schema is built once, at compile time; use concrete field types",
            );
        }
        Container {
            input,
            attrs,
            fields,
        }
    }
}

impl Field<'_> {
    /// The name serde gives the field (raw identifiers lose their `r#`).
    pub(crate) fn serde_name(&self) -> String {
        let name = self.ident.to_string();
        name.strip_prefix("r#").map(str::to_owned).unwrap_or(name)
    }

    /// The local metric name: `rename`, or the field name.
    pub(crate) fn metric_name(&self) -> String {
        match &self.attrs.rename {
            Some(rename) => rename.value.value(),
            None => self.serde_name(),
        }
    }

    /// The token the field's metric name comes from: the `rename` value, or the field name.
    pub(crate) fn name_span(&self) -> Span {
        match &self.attrs.rename {
            Some(rename) => rename.value.span(),
            None => self.ident.span(),
        }
    }

    /// Whether the field is a metric (or group) at all.
    pub(crate) fn is_skipped(&self) -> bool {
        self.attrs.skip.is_some()
    }
}

impl Container<'_> {
    /// The field's name within the group, struct prefix applied. For a flattened group this
    /// is the path segment its metrics go under: the prefix, or nothing.
    pub(crate) fn metric_name(&self, field: &Field) -> String {
        let prefix = self
            .attrs
            .prefix
            .as_ref()
            .map(|prefix| prefix.value.value());
        match (prefix, field.attrs.flatten.is_some()) {
            (Some(prefix), true) => prefix,
            (None, true) => String::new(),
            (Some(prefix), false) => format!("{prefix}.{}", field.metric_name()),
            (None, false) => field.metric_name(),
        }
    }
}
