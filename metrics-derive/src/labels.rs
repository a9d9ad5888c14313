//! `#[derive(LabelSet)]` (a struct: one attribute per field, keyed by the field name) and
//! `#[derive(LabelValue)]` (a unit-only enum: one string attribute, the variant in
//! snake_case), each with `#[label(rename = "...")]`. Parse, check and expand in one file:
//! both are small, and share the attribute and the key rules.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Fields, LitStr};

use crate::check::label_keys_are_valid;
use crate::errors::Errors;

/// The attribute on fields and variants.
const LABEL: &str = "label";
const RENAME: &str = "rename";

/// Implements `LabelSet` for a struct with named fields.
pub(crate) fn derive_label_set(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named.named.iter().collect(),
            _ => {
                errors.at(
                    data.fields.span(),
                    "`LabelSet` needs named fields: the field names are the attribute keys",
                );
                Vec::new()
            }
        },
        _ => {
            errors.at(
                input.ident.span(),
                "`LabelSet` can only be derived for a struct with named fields; for a unit-only enum as one attribute value, derive `LabelValue`",
            );
            Vec::new()
        }
    };
    let keys: Vec<LitStr> = fields
        .iter()
        .filter_map(|field| {
            let ident = field.ident.as_ref()?;
            let name = ident.to_string();
            let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
            Some(
                rename(&field.attrs, &mut errors)
                    .unwrap_or_else(|| LitStr::new(&name, ident.span())),
            )
        })
        .collect();
    if errors.is_empty() {
        label_keys_are_valid(&keys, input.ident.span(), &mut errors);
    }
    if let Some(errors) = errors.finish() {
        return errors;
    }
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let arity = keys.len();
    let values = fields.iter().map(|field| {
        let member = &field.ident;
        let ty = &field.ty;
        quote_spanned!(ty.span()=> <#ty as ::metrics_core::__private::ToLabelValue>::label_value(&self.#member))
    });
    quote! {
        #[doc(hidden)]
        #[allow(clippy::all)]
        const _: () = {
            #[automatically_derived]
            impl #impl_generics ::metrics_core::__private::LabelSet for #ident #ty_generics #where_clause {
                const KEYS: &'static [&'static str] = &[#(#keys),*];
                const ARITY: usize = #arity;
                type Values<'__a> = [::metrics_core::__private::LabelValue<'__a>; #arity] where Self: '__a;

                #[inline]
                fn label_values(&self) -> Self::Values<'_> {
                    [#(#values),*]
                }
            }
        };
    }
}

/// Implements `ToLabelValue` and `LabelSet` for a unit-only enum, and marks it as a JSON map
/// key through its `serde::Serialize`.
pub(crate) fn derive_label_value(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let Data::Enum(data) = &input.data else {
        errors.at(
            input.ident.span(),
            "`LabelValue` can only be derived for a unit-only enum; for a struct of several attributes, derive `LabelSet`",
        );
        return errors.finish().unwrap_or_default();
    };
    if let Some(param) = input.generics.params.first() {
        errors.at(
            param.span(),
            "`LabelValue` cannot be derived for a generic enum",
        );
    }
    let mut arms = Vec::new();
    let mut seen: Vec<(String, Span)> = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            errors.at(
                variant.fields.span(),
                format!(
                    "variant `{}` carries data, and a label value is one word: `LabelValue` takes unit-only enums; make the data a separate attribute (a `LabelSet` struct field)",
                    variant.ident
                ),
            );
            continue;
        }
        let value = rename(&variant.attrs, &mut errors)
            .map_or_else(|| snake_case(&variant.ident.to_string()), |lit| lit.value());
        if let Some((_, first)) = seen.iter().find(|(seen, _)| *seen == value) {
            errors.at(
                variant.ident.span(),
                format!("duplicate label value `{value}`"),
            );
            errors.first_defined_here(*first);
        }
        seen.push((value.clone(), variant.ident.span()));
        let variant = &variant.ident;
        arms.push(quote!(Self::#variant => #value));
    }
    if let Some(errors) = errors.finish() {
        return errors;
    }
    let ident = &input.ident;
    quote! {
        #[doc(hidden)]
        #[allow(clippy::all)]
        const _: () = {
            #[automatically_derived]
            impl ::metrics_core::__private::ToLabelValue for #ident {
                #[inline]
                fn label_value(&self) -> ::metrics_core::__private::LabelValue<'_> {
                    ::metrics_core::__private::LabelValue::Str(match *self {
                        #(#arms,)*
                    })
                }
            }

            #[automatically_derived]
            impl ::metrics_core::__private::LabelSet for #ident {
                const KEYS: &'static [&'static str] = &[];
                const ARITY: usize = 1;
                type Values<'__a> = [::metrics_core::__private::LabelValue<'__a>; 1];

                #[inline]
                fn label_values(&self) -> Self::Values<'_> {
                    [::metrics_core::__private::ToLabelValue::label_value(self)]
                }
            }

            #[automatically_derived]
            impl ::metrics_core::__private::SerdeKey for #ident {}
        };
    }
}

/// The `rename` of `#[label(rename = "...")]`, if given; errors for anything else.
fn rename(attrs: &[Attribute], errors: &mut Errors) -> Option<LitStr> {
    let mut found: Option<LitStr> = None;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident(LABEL)) {
        let result = attr.parse_nested_meta(|meta| {
            if !meta.path.is_ident(RENAME) {
                errors.at(
                    meta.path.span(),
                    "unknown key in `#[label(...)]`, expected `rename = \"...\"`",
                );
                return Ok(());
            }
            let value: LitStr = meta.value()?.parse()?;
            if let Some(first) = &found {
                errors.at(meta.path.span(), format!("duplicate key `{RENAME}`"));
                errors.first_defined_here(first.span());
            } else {
                found = Some(value);
            }
            Ok(())
        });
        if let Err(error) = result {
            errors.push(error);
        }
    }
    found
}

/// `HttpGet` → `http_get`, as serde's `rename_all = "snake_case"` spells a variant.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.char_indices() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_as_serde() {
        assert_eq!(snake_case("Get"), "get");
        assert_eq!(snake_case("HttpGet"), "http_get");
        assert_eq!(snake_case("already_snake"), "already_snake");
    }
}
