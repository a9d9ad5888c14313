//! Code generation: one `impl MetricsGroup` (plus the field impls that let the type nest),
//! calling only `::metrics_core::__private`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::DeriveInput;

use crate::ast::{Container, Field};
use crate::attr::Kind;
use crate::check;
use crate::errors::Errors;

/// Parses, checks and expands; on any error, the errors plus a fallback impl.
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    let mut errors = Errors::default();
    let container = Container::from_syn(input, &mut errors);
    check::check(&container, &mut errors);
    match errors.finish() {
        None => expand(&container),
        Some(compile_errors) => {
            let fallback = fallback(input);
            quote! { #compile_errors #fallback }
        }
    }
}

fn expand(container: &Container) -> TokenStream {
    let ident = &container.input.ident;
    let type_name = ident.to_string();
    let metric_fields: Vec<&Field> = container
        .fields
        .iter()
        .filter(|f| !f.is_skipped())
        .collect();

    let schema_fields = metric_fields
        .iter()
        .map(|field| schema_field(container, field));
    let unique_names_check = needs_unique_names_check(container, &metric_fields).then(|| {
        quote! {
            const _: () = ::metrics_core::__private::assert_unique_names::<
                { ::metrics_core::__private::metric_count(FIELDS) }
            >(FIELDS);
        }
    });
    let type_checks = metric_fields.iter().map(|field| type_checks(field));
    let visits = metric_fields.iter().map(|field| {
        let member = field.ident;
        quote_spanned! {field.ty.span()=>
            ::metrics_core::__private::Field::visit(&self.#member, visitor);
        }
    });
    let json_fields = container.fields.iter().enumerate().map(|(i, field)| {
        let member = field.ident;
        let first = i == 0;
        let quoted_key = format!("\"{}\"", field.serde_name());
        let write = if field.is_skipped() {
            quote!(::metrics_core::__private::json_serialized_field)
        } else {
            quote!(::metrics_core::__private::json_field)
        };
        quote_spanned! {field.ty.span()=>
            #write(writer, format, #first, #quoted_key, &self.#member)?;
        }
    });

    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            const FIELDS: &[::metrics_core::__private::SchemaField] = &[#(#schema_fields),*];
            static SCHEMA: ::metrics_core::__private::GroupSchema =
                ::metrics_core::__private::group(#type_name, FIELDS);
            #unique_names_check

            #[automatically_derived]
            impl ::metrics_core::__private::MetricsGroup for #ident {
                const SCHEMA: &'static ::metrics_core::__private::GroupSchema = &SCHEMA;

                fn visit(&self, visitor: &mut dyn ::metrics_core::__private::Visitor) {
                    #(#visits)*
                }

                fn write_json<__W, __F>(
                    &self,
                    writer: &mut __W,
                    format: &mut __F,
                ) -> ::metrics_core::__private::IoResult
                where
                    __W: ?::core::marker::Sized + ::metrics_core::__private::Write,
                    __F: ::metrics_core::__private::JsonFormat,
                {
                    ::metrics_core::__private::Formatter::begin_object(format, writer)?;
                    #(#json_fields)*
                    ::metrics_core::__private::Formatter::end_object(format, writer)
                }
            }

            #[automatically_derived]
            impl ::metrics_core::__private::Field for #ident {
                const SHAPE: ::metrics_core::__private::Shape =
                    ::metrics_core::__private::Shape::Group(&SCHEMA);

                fn visit(&self, visitor: &mut dyn ::metrics_core::__private::Visitor) {
                    ::metrics_core::__private::MetricsGroup::visit(self, visitor)
                }

                fn write_json<__W, __F>(
                    &self,
                    writer: &mut __W,
                    format: &mut __F,
                ) -> ::metrics_core::__private::IoResult
                where
                    __W: ?::core::marker::Sized + ::metrics_core::__private::Write,
                    __F: ::metrics_core::__private::JsonFormat,
                {
                    ::metrics_core::__private::MetricsGroup::write_json(self, writer, format)
                }
            }

            #[automatically_derived]
            impl ::metrics_core::__private::UnlabeledField for #ident {}

            fn __type_checks() {
                #(#type_checks)*
            }
        };
    }
}

/// The field's `SchemaField`, computed at compile time from its attributes and type.
fn schema_field(container: &Container, field: &Field) -> TokenStream {
    let ty = field.ty;
    let attrs = &field.attrs;
    let name = container.metric_name(field);
    let kind = match attrs.kind.as_ref().map_or(Kind::Gauge, |kind| kind.value) {
        Kind::Counter => quote!(Counter),
        Kind::Gauge => quote!(Gauge),
        Kind::UpDownCounter => quote!(UpDownCounter),
    };
    let unit = attrs
        .unit
        .as_ref()
        .map(|unit| unit.value.value())
        .unwrap_or_default();
    let description = match &attrs.description {
        Some(description) => description.value.value(),
        None => attrs.doc.clone().unwrap_or_default(),
    };
    let label = match &attrs.label {
        Some(label) => {
            let label = label.value.value();
            quote!(::core::option::Option::Some(#label))
        }
        None => quote!(::core::option::Option::None),
    };
    // Spanned at the field so that a const-evaluation failure (say, a signed counter) and an
    // unsupported type point at the field.
    quote_spanned! {ty.span()=>
        ::metrics_core::__private::field(
            ::metrics_core::__private::FieldSpec {
                name: #name,
                kind: ::metrics_core::__private::MetricKind::#kind,
                unit: #unit,
                description: #description,
                label: #label,
            },
            <#ty as ::metrics_core::__private::Field>::SHAPE,
        )
    }
}

/// Bounds that reject attributes the field's type cannot take, with messages from
/// `#[diagnostic::on_unimplemented]` pointing at the type.
fn type_checks(field: &Field) -> TokenStream {
    let ty = field.ty;
    let attrs = &field.attrs;
    let mut required = Vec::new();
    if attrs.kind.is_some() || attrs.unit.is_some() {
        required.push(quote!(value_field));
    }
    if attrs.flatten.is_some() {
        required.push(quote!(group_field));
    } else if attrs.label.is_some() {
        required.push(quote!(labeled_field));
    } else {
        required.push(quote!(unlabeled_field));
    }
    required
        .into_iter()
        .map(|require| {
            quote_spanned! {ty.span()=>
                ::metrics_core::__private::#require::<#ty>();
            }
        })
        .collect()
}

/// Flattened groups and dotted renames can collide with names the derive cannot see.
fn needs_unique_names_check(container: &Container, fields: &[&Field]) -> bool {
    fields
        .iter()
        .any(|field| field.attrs.flatten.is_some() || container.metric_name(field).contains('.'))
}

/// What is emitted alongside errors: impls with an empty schema, so that uses of the type
/// do not fail with errors unrelated to the real one.
fn fallback(input: &DeriveInput) -> TokenStream {
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[allow(unreachable_code, clippy::all)]
        const _: () = {
            #[automatically_derived]
            impl #impl_generics ::metrics_core::__private::MetricsGroup for #ident #ty_generics #where_clause {
                const SCHEMA: &'static ::metrics_core::__private::GroupSchema =
                    &::metrics_core::__private::FALLBACK_SCHEMA;

                fn visit(&self, _: &mut dyn ::metrics_core::__private::Visitor) {}

                fn write_json<__W, __F>(&self, _: &mut __W, _: &mut __F) -> ::metrics_core::__private::IoResult
                where
                    __W: ?::core::marker::Sized + ::metrics_core::__private::Write,
                    __F: ::metrics_core::__private::JsonFormat,
                {
                    ::core::unreachable!()
                }
            }

            #[automatically_derived]
            impl #impl_generics ::metrics_core::__private::Field for #ident #ty_generics #where_clause {
                const SHAPE: ::metrics_core::__private::Shape =
                    ::metrics_core::__private::Shape::Group(&::metrics_core::__private::FALLBACK_SCHEMA);

                fn visit(&self, _: &mut dyn ::metrics_core::__private::Visitor) {}

                fn write_json<__W, __F>(&self, _: &mut __W, _: &mut __F) -> ::metrics_core::__private::IoResult
                where
                    __W: ?::core::marker::Sized + ::metrics_core::__private::Write,
                    __F: ::metrics_core::__private::JsonFormat,
                {
                    ::core::unreachable!()
                }
            }

            #[automatically_derived]
            impl #impl_generics ::metrics_core::__private::UnlabeledField for #ident #ty_generics #where_clause {}
        };
    }
}
