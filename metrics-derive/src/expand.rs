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

/// Up to this many fields, `write_json` and `visit` inline every field's code; see `expand`.
const INLINE_FIELDS: usize = 16;

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
    let unique_names_checks = unique_names_checks(&metric_fields);
    // A small struct's field code inlines into `visit` and `write_json`; a large struct makes
    // one call per field instead (see `write_json` below for why).
    let inline = container.fields.len() <= INLINE_FIELDS;
    let visit = if inline {
        quote!(visit)
    } else {
        quote!(visit_member)
    };
    let visits = metric_fields.iter().map(|field| {
        let ty = field.ty;
        let member = field.ident;
        quote_spanned! {ty.span()=>
            <#ty as ::metrics_core::__private::Field>::#visit(&self.#member, visitor);
        }
    });
    // A small struct's writers inline into `write_json`: each member is one constant-length
    // write of its key and the value's formatting. A large struct's members are written by
    // calls to `Field::write_member`, one instance per field type: with hundreds of members
    // inlined, code size and LLVM time (argument promotion is quadratic in a function's
    // size) grew until a 200-field struct took 3.6 seconds to compile, against serde's 0.3.
    let json_fields = container.fields.iter().enumerate().map(|(i, field)| {
        let ty = field.ty;
        let member = field.ident;
        let first = i == 0;
        // Field names are identifiers, which JSON strings hold unescaped.
        let quoted_key = format!("\"{}\"", field.serde_name());
        let compact = format!("{}{quoted_key}:", if first { '{' } else { ',' });
        if field.is_skipped() {
            // The member takes the type's span too, so that a missing `Serialize` points at
            // the type rather than at the whole field.
            let mut member = member.clone();
            member.set_span(ty.span());
            quote_spanned! {ty.span()=>
                ::metrics_core::__private::json_serialized_field(
                    writer, format, #first, #quoted_key, #compact, &self.#member,
                )?;
            }
        } else if inline {
            quote_spanned! {ty.span()=>
                ::metrics_core::__private::JsonFormat::member(format, writer, #first, #quoted_key, #compact)?;
                <#ty as ::metrics_core::__private::Field>::write_json(&self.#member, writer, format)?;
                ::metrics_core::__private::Formatter::end_object_value(format, writer)?;
            }
        } else {
            // `if let` rather than `?`: the same control flow with no `Try` calls to type
            // check and inline, 7% of this crate's compile time at 200 fields.
            quote_spanned! {ty.span()=>
                if let ::core::result::Result::Err(error) =
                    <#ty as ::metrics_core::__private::Field>::write_member(
                        &self.#member, writer, format, #first, #quoted_key, #compact,
                    )
                {
                    return ::core::result::Result::Err(error);
                }
            }
        }
    });

    // The first member opens the object; only an empty struct opens it on its own.
    let open = container
        .fields
        .is_empty()
        .then(|| quote!(::metrics_core::__private::Formatter::begin_object(format, writer)?;));

    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            const FIELDS: &[::metrics_core::__private::SchemaField] = &[#(#schema_fields),*];
            static SCHEMA: ::metrics_core::__private::GroupSchema =
                ::metrics_core::__private::group(#type_name, FIELDS);
            #(#unique_names_checks)*

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
                    #open
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
    let checks = type_checks(field);
    // Spanned at the type so that a const-evaluation failure (say, a signed counter) and an
    // unsupported type point at the field. `visit` and `write_json` name the same
    // `<#ty as Field>` at the same span, so their errors for an unsupported type are identical
    // to this one and rustc prints it once. The attribute bounds sit in this same body, where
    // rustc drops an error whose cause it has already reported at this span (a type that is no
    // `MetricValue` fails `Field` and `UnlabeledField` for the same reason).
    quote_spanned! {ty.span()=>
        {
            let shape = <#ty as ::metrics_core::__private::Field>::SHAPE;
            #checks
            ::metrics_core::__private::field(
                ::metrics_core::__private::FieldSpec {
                    name: #name,
                    kind: ::metrics_core::__private::MetricKind::#kind,
                    unit: #unit,
                    description: #description,
                    label: #label,
                },
                shape,
            )
        }
    }
}

/// Bounds that reject attributes the field's type cannot take, with messages from
/// `#[diagnostic::on_unimplemented]` pointing at the type. They are named, not called, so
/// that they can sit in the `const` schema entry.
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
                let _: fn() = ::metrics_core::__private::#require::<#ty>;
            }
        })
        .collect()
}

/// Flattened groups and dotted renames can collide with names the derive cannot see, so
/// each field is checked against every earlier field it could collide with: any field beside
/// a flattened one, and a nested group beside a name under its path (`a` and `a.b`). One
/// check per pair, spanned at the later field's name, makes the error point at a field
/// rather than at the derive. Other pairs need no check: `check` has compared their names.
fn unique_names_checks(fields: &[&Field]) -> Vec<TokenStream> {
    let may_collide = |a: &Field, b: &Field| {
        let under = |name: &str, group: &str| {
            name.starts_with(group) && name[group.len()..].starts_with('.')
        };
        a.attrs.flatten.is_some()
            || b.attrs.flatten.is_some()
            || under(&a.metric_name(), &b.metric_name())
            || under(&b.metric_name(), &a.metric_name())
    };
    let mut checks = Vec::new();
    for (j, later) in fields.iter().enumerate() {
        for (i, earlier) in fields[..j].iter().enumerate() {
            if !may_collide(earlier, later) {
                continue;
            }
            checks.push(quote_spanned! {later.name_span()=>
                const _: () = ::metrics_core::__private::assert_unique_names::<
                    { ::metrics_core::__private::metric_count(&[FIELDS[#i], FIELDS[#j]]) }
                >(&[FIELDS[#i], FIELDS[#j]]);
            });
        }
    }
    checks
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
