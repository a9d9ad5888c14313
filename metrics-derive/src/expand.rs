//! Code generation: one `impl MetricsGroup` (plus the field impls that let the type nest),
//! calling only `::metrics_core::__private`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::DeriveInput;

use crate::ast::{type_text, Container, Field, Role};
use crate::attr::{Keyword, Kind, MetricKeys, RoleKey, LABEL};
use crate::check;
use crate::errors::Errors;
use crate::prometheus_names;
use crate::serde_attr::quoted_json_key;

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
        .filter(|f| !matches!(f.role, Role::Skipped | Role::Time { .. }))
        .collect();

    let prometheus_names = prometheus_names::relocatable_names(container, &metric_fields);
    let schema_fields = metric_fields
        .iter()
        .map(|field| schema_field(container, field));
    let type_checks = metric_fields
        .iter()
        .enumerate()
        .map(|(i, field)| type_checks(field, i));
    let unique_names_checks = unique_names_checks(&metric_fields);
    let (time_checks, point_times) = times(container);
    // A flat group's names are judged in `check`; the `const` check costs build time.
    let prometheus_names_check =
        prometheus_names::needs_const_check(container).then(|| prometheus_names_check(ident));
    let buckets_consts = buckets_consts(container);
    // Inlining every field's code keeps a small struct's `visit` and `write_json` as fast as
    // hand-written code; for a large struct it makes LLVM's time grow faster than linearly
    // with the function's size (BENCHMARKS.md, "Compile time"), so each field becomes one
    // call to a never-inlined `Field` method, an instance per field type.
    let inline = container.fields.len() <= INLINE_FIELDS;
    let visit = if inline {
        quote!(visit)
    } else {
        quote!(visit_member)
    };
    let visits = metric_fields.iter().map(|field| {
        let ty = field.ty;
        let member = field.ident;
        quote_spanned! {field.ty_span=>
            <#ty as ::metrics_core::__private::Field>::#visit(&self.#member, visitor);
        }
    });
    // Serde-skipped fields have no member: their type need not be `Serialize`.
    let json_members: Vec<(&Field, String)> = container
        .fields
        .iter()
        .filter_map(|field| Some((field, container.json_key(field)?)))
        .collect();
    let json_fields = json_members.iter().enumerate().map(|(i, (field, key))| {
        let ty = field.ty;
        // The member takes the type's span too, so that a missing trait points at the type
        // rather than at the whole field.
        let mut member = field.ident.clone();
        member.set_span(field.ty_span);
        let first = i == 0;
        let quoted_key = quoted_json_key(key);
        let compact = format!("{}{quoted_key}:", if first { '{' } else { ',' });
        if matches!(field.role, Role::Time { .. }) {
            // Through `TimeField`, so that a type that cannot be a time gets that one error.
            quote_spanned! {field.ty_span=>
                <#ty as ::metrics_core::__private::TimeField>::write_member(
                    &self.#member, writer, format, #first, #quoted_key, #compact,
                )?;
            }
        } else if matches!(field.role, Role::Skipped) {
            quote_spanned! {field.ty_span=>
                <#ty as ::metrics_core::__private::SkippedField>::write_member(
                    &self.#member, writer, format, #first, #quoted_key, #compact,
                )?;
            }
        } else if inline {
            quote_spanned! {field.ty_span=>
                ::metrics_core::__private::JsonFormat::member(format, writer, #first, #quoted_key, #compact)?;
                <#ty as ::metrics_core::__private::Field>::write_json(&self.#member, writer, format)?;
                ::metrics_core::__private::Formatter::end_object_value(format, writer)?;
            }
        } else {
            // `if let` rather than `?`: the same control flow with no `Try` calls to type
            // check and inline, which is measurable at hundreds of fields.
            quote_spanned! {field.ty_span=>
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

    // The first member opens the object; only a struct without members opens it on its own.
    let open = json_members
        .is_empty()
        .then(|| quote!(::metrics_core::__private::Formatter::begin_object(format, writer)?;));

    quote! {
        #[doc(hidden)]
        #[allow(non_upper_case_globals, clippy::all)]
        const _: () = {
            const FIELDS: &[::metrics_core::__private::SchemaField] =
                &::metrics_core::__private::fields([#(#schema_fields),*]);
            const PROMETHEUS: &[&str] = &[#(#prometheus_names),*];
            static SCHEMA: ::metrics_core::__private::GroupSchema =
                ::metrics_core::__private::group(#type_name, FIELDS)
                    .with_prometheus_names(PROMETHEUS);
            const _: () = {
                #(#type_checks)*
                #time_checks
            };
            #(#unique_names_checks)*
            #prometheus_names_check
            #buckets_consts

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

                #point_times
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
        };
    }
}

/// The field's spec and shape, which `fields` makes its `SchemaField` at compile time.
fn schema_field(container: &Container, field: &Field) -> TokenStream {
    let ty = field.ty;
    let name = container.metric_name(field);
    let no_keys = MetricKeys::default();
    let keys = match &field.role {
        Role::Metric(keys) => keys,
        _ => &no_keys,
    };
    // The keys most fields have are written out; the others, when absent, come from
    // `FieldSpec::NONE`, whose empty slices are one constant for the compiler to evaluate
    // where a `&[]` per field would be one each.
    let unit = keys
        .unit
        .as_ref()
        .map(|unit| unit.value.value())
        .unwrap_or_default();
    let description = match &keys.description {
        Some(description) => description.value.value(),
        None => field.doc.clone().unwrap_or_default(),
    };
    let kind = keys.kind.as_ref().map(|kind| {
        let kind = kind_tokens(kind.value);
        quote!(kind: ::core::option::Option::Some(#kind),)
    });
    let labels = keys.label.as_ref().map(|label| {
        let keys = label.value.keys.iter().map(syn::LitStr::value);
        quote!(labels: &[#(#keys),*],)
    });
    let buckets = keys.buckets.as_ref().map(|_| {
        let ident = &container.input.ident;
        let constant = buckets_const_name(field);
        quote!(buckets: #ident::#constant,)
    });
    // Spanned at the type so that an unsupported type points at the field. `visit`,
    // `write_json` and the type checks name the same `<#ty as Field>` at the same span, so
    // rustc reports an unsupported type once.
    quote_spanned! {field.ty_span=>
        (
            ::metrics_core::__private::FieldSpec {
                name: #name,
                unit: #unit,
                description: #description,
                #kind
                #labels
                #buckets
                ..::metrics_core::__private::FieldSpec::NONE
            },
            <#ty as ::metrics_core::__private::Field>::SHAPE,
        )
    }
}

/// `::metrics_core::__private::MetricKind::Counter` and so on.
fn kind_tokens(kind: Kind) -> TokenStream {
    let variant = match kind {
        Kind::Counter => quote!(Counter),
        Kind::Gauge => quote!(Gauge),
        Kind::UpDownCounter => quote!(UpDownCounter),
        Kind::Histogram => quote!(Histogram),
        Kind::ExponentialHistogram => quote!(ExponentialHistogram),
    };
    quote!(::metrics_core::__private::MetricKind::#variant)
}

/// The associated constant a field's `buckets` become: `LATENCY_BUCKETS` for `latency`.
fn buckets_const_name(field: &Field) -> syn::Ident {
    syn::Ident::new(
        &format!("{}_BUCKETS", field.serde_name().to_uppercase()),
        field.ident.span(),
    )
}

/// `impl Struct { pub const FIELD_BUCKETS: &'static [f64] = &[..]; }` for each field with
/// `buckets`: the bounds are written once, in the attribute, and both the schema and the
/// code that builds the `Histogram` (`Histogram::with_bounds(Struct::FIELD_BUCKETS)`) read
/// them from here, so they cannot disagree.
fn buckets_consts(container: &Container) -> TokenStream {
    let consts = container.fields.iter().filter_map(|field| {
        let Role::Metric(keys) = &field.role else {
            return None;
        };
        let buckets = keys.buckets.as_ref()?;
        let name = buckets_const_name(field);
        let values = buckets.value.bounds.iter().map(|&bound| {
            let literal = proc_macro2::Literal::f64_suffixed(bound.abs());
            if bound < 0.0 {
                quote!(-#literal)
            } else {
                quote!(#literal)
            }
        });
        let doc = format!(
            "The bucket bounds of histogram field `{}`, from its `#[metric(buckets = [...])]`: build it with `Histogram::with_bounds(Self::{name})`.",
            field.serde_name()
        );
        Some(quote! {
            #[doc = #doc]
            pub const #name: &'static [f64] = &[#(#values),*];
        })
    });
    let consts: Vec<_> = consts.collect();
    if consts.is_empty() {
        return TokenStream::new();
    }
    let ident = &container.input.ident;
    quote! {
        #[automatically_derived]
        impl #ident {
            #(#consts)*
        }
    }
}

/// Statements rejecting what the field's type cannot take, each panicking (a compile error)
/// with a message that names the field, spanned at the key or type at fault. All fields'
/// checks share one `const` item, at the price of reporting one such error at a time, and a
/// field whose type the tokens show to be a std value gets none (`check` judges it): each
/// check costs build time (BENCHMARKS.md, "Compile time").
///
/// `const` checks rather than trait bounds: a trait's message cannot name the field, and a
/// type that fails several bounds would get an error for each; here a type that is no field
/// at all fails only `Field`, once, and a user's own `MetricValue` types are judged by their
/// `VALUE_TYPE` like the built-in ones.
fn type_checks(field: &Field, index: usize) -> TokenStream {
    // A std value type is neither a group nor a map, and `check` has judged its sign and its
    // `label`: nothing to check, so nothing to prepare either.
    if matches!(field.role, Role::Metric(_) | Role::MetricOrGroup) && field.std_value().is_some() {
        return TokenStream::new();
    }
    let ty = field.ty;
    let name = field.serde_name();
    let ty_text = type_text(ty);
    let shape = quote_spanned!(field.ty_span=> <#ty as ::metrics_core::__private::Field>::SHAPE);
    let is = |test: &str| {
        let test = syn::Ident::new(test, field.ty_span);
        quote_spanned!(field.ty_span=> ::metrics_core::__private::Shape::#test(#shape))
    };
    let map_needs_label = || {
        let map = is("is_map");
        let names_keys = is("map_names_keys");
        fails_if(
            field.ty_span,
            quote!(#map && !#names_keys),
            format!("map field `{name}` needs `#[metric(label = \"...\")]` naming the attribute its keys are reported under, as in `label = \"tier\"`, or `label = (\"route\", \"method\")` for a tuple key"),
        )
    };
    let mut checks = Vec::new();
    match &field.role {
        Role::Metric(keys) => {
            let value_keys: Vec<_> = keys
                .given()
                .into_iter()
                .filter(|&(key, _)| key != LABEL)
                .collect();
            if let Some(&(_, span)) = value_keys.first() {
                let listed = value_keys
                    .iter()
                    .map(|(key, _)| format!("`{key}`"))
                    .collect::<Vec<_>>()
                    .join(" and ");
                let verb = if value_keys.len() == 1 {
                    "applies"
                } else {
                    "apply"
                };
                checks.push(fails_if(
                    span,
                    is("is_group"),
                    format!("{listed} {verb} to metric values, and field `{name}` is a nested group (`{ty_text}`): describe its metrics on the fields of `{ty_text}`"),
                ));
            }
            match &keys.label {
                Some(label) => {
                    let not_map = is("is_map");
                    checks.push(fails_if(
                        label.key_span,
                        quote!(!#not_map),
                        check::label_on_non_map(field),
                    ));
                    let count = label.value.keys.len();
                    let arity = is("map_arity");
                    let noun = if count == 1 { "key" } else { "keys" };
                    checks.push(fails_if(
                        label.value.span,
                        quote!(#not_map && #arity != #count),
                        format!("`label` names {count} attribute {noun}, but the key type of map field `{name}` (`{ty_text}`) gives a different number of values: name one key per element of the tuple (or per field of the `LabelSet`)"),
                    ));
                }
                None => checks.push(map_needs_label()),
            }
            if let Some(kind) = &keys.kind {
                let kind_path = kind_tokens(kind.value);
                let accepts = quote_spanned!(field.ty_span=> ::metrics_core::__private::Shape::accepts(#shape, #kind_path));
                let group = is("is_group");
                let message = match kind.value {
                    Kind::Histogram | Kind::ExponentialHistogram => {
                        check::histogram_kind_on_non_histogram(field, kind.value)
                    }
                    other => format!(
                        "`{}` applies to number fields, and field `{name}` is a histogram (`{ty_text}`), whose kind is its own: remove `{}`",
                        other.keyword(),
                        other.keyword()
                    ),
                };
                checks.push(fails_if(
                    kind.key_span,
                    quote!(!#group && !#accepts),
                    message,
                ));
            }
            if let Some(buckets) = &keys.buckets {
                let explicit = is("is_explicit_histogram");
                checks.push(fails_if(
                    buckets.key_span,
                    quote!(!#explicit),
                    check::buckets_on_non_histogram(field),
                ));
            }
            if keys
                .kind
                .as_ref()
                .is_some_and(|kind| kind.value == Kind::Counter)
            {
                checks.push(fails_if(
                    field.ty_span,
                    is("is_signed"),
                    check::signed_counter(field),
                ));
            }
        }
        Role::MetricOrGroup => {
            checks.push(map_needs_label());
            checks.push(name_fits(field, index));
        }
        Role::FlattenedGroup { key_span } => {
            let group = is("is_group");
            checks.push(fails_if(
                *key_span,
                quote!(!#group),
                format!("`flatten` applies to nested groups, and field `{name}` is not a `#[derive(MetricsGroup)]` type (`{ty_text}`): remove `flatten`"),
            ));
            checks.push(name_fits(field, index));
        }
        Role::Skipped | Role::Time { .. } => {}
    }
    checks.into_iter().collect()
}

/// For the fields marked `timestamp` and `start_time`: `const` checks that an integer has a
/// `unit` and a `SystemTime` none (only the type knows), and the `point_times` method reading
/// them; nothing for a group without such fields (the trait's default gives no times).
fn times(container: &Container) -> (TokenStream, TokenStream) {
    let mut checks = TokenStream::new();
    let mut time = quote!(::core::option::Option::None);
    let mut start_time = quote!(::core::option::Option::None);
    let mut any = false;
    for field in &container.fields {
        let Role::Time {
            which,
            key_span,
            unit,
        } = &field.role
        else {
            continue;
        };
        any = true;
        let ty = field.ty;
        let member = field.ident;
        let name = field.serde_name();
        let keyword = which.keyword();
        let needs_unit = quote_spanned!(field.ty_span=> <#ty as ::metrics_core::__private::TimeField>::NEEDS_UNIT);
        let unit_nanos = match unit {
            Some(unit) => {
                checks.extend(fails_if(
                    unit.key_span,
                    quote!(!#needs_unit),
                    format!("`unit` applies to an integer time, and field `{name}` is a `{}`: remove `unit`", type_text(ty)),
                ));
                let value = unit.value.value();
                check::TIME_UNITS
                    .iter()
                    .find(|(known, _)| *known == value)
                    .map_or(1, |(_, nanos)| *nanos)
            }
            None => {
                checks.extend(fails_if(
                    *key_span,
                    needs_unit.clone(),
                    format!("field `{name}` is a number: say what it counts since the Unix epoch, as in `#[metric({keyword}, unit = \"s\")]` (or \"ms\", \"us\", \"ns\")"),
                ));
                1
            }
        };
        let read = quote_spanned! {field.ty_span=>
            <#ty as ::metrics_core::__private::TimeField>::unix_nano(&self.#member, #unit_nanos)
        };
        match which {
            RoleKey::StartTime => start_time = read,
            _ => time = read,
        }
    }
    if !any {
        return (checks, TokenStream::new());
    }
    let method = quote! {
        fn point_times(&self) -> ::metrics_core::__private::PointTimes {
            ::metrics_core::__private::PointTimes {
                time_unix_nano: #time,
                start_time_unix_nano: #start_time,
            }
        }
    };
    (checks, method)
}

/// A nested group's full names, with this field's path segment in front, must fit
/// OpenTelemetry's length limit; only the compiler knows the nested type's names.
fn name_fits(field: &Field, index: usize) -> TokenStream {
    // Where the first part of the name comes from, for the message.
    let this_field = match field.role {
        Role::FlattenedGroup { .. } => {
            format!("the `prefix` of flattened field `{}`", field.serde_name())
        }
        _ => format!("field `{}`", field.serde_name()),
    };
    fails_with(
        field.name_span(),
        quote!(::metrics_core::__private::name_too_long(FIELDS[#index], #this_field)),
    )
}

/// A statement of `const` code that fails to compile, at `span`, with `message` when
/// `condition` holds.
fn fails_if(span: Span, condition: TokenStream, message: String) -> TokenStream {
    // A lone literal without braces reads the same in every edition, and `panic!` expands
    // it to far less code than `"{}", message`, which defines a function per call.
    let panic = if message.contains(['{', '}']) {
        quote_spanned!(span=> ::core::panic!("{}", #message))
    } else {
        quote_spanned!(span=> ::core::panic!(#message))
    };
    quote_spanned! {span=>
        if #condition {
            #panic
        }
    }
}

/// A statement of `const` code that fails to compile, at `span`, with the `Message`
/// `message` evaluates to unless it is empty.
fn fails_with(span: Span, message: TokenStream) -> TokenStream {
    quote_spanned! {span=>
        {
            let message: ::metrics_core::__private::Message = #message;
            if !message.is_empty() {
                ::core::panic!("{}", message.as_str())
            }
        }
    }
}

/// Flattened groups and dotted renames can collide with names the derive cannot see, so
/// each field is checked against every earlier field it could collide with: any field beside
/// a flattened one, and a nested group beside a name under its path (`a` and `a.b`). Each
/// pair gets two checks: the error at the later field's name and "first exported here" at
/// the earlier one's. Other pairs need no check: `check` has compared their names.
fn unique_names_checks(fields: &[&Field]) -> Vec<TokenStream> {
    let flattened = |field: &Field| matches!(field.role, Role::FlattenedGroup { .. });
    let under =
        |name: &str, group: &str| name.starts_with(group) && name[group.len()..].starts_with('.');
    // Each name rendered once: the pairs are quadratic in the fields, and rendering names
    // for each pair cost measurable build time at hundreds of fields.
    let names: Vec<String> = fields.iter().map(|field| field.metric_name()).collect();
    // Without a flattened field or a dotted name, no pair can collide: skip them all.
    if !fields
        .iter()
        .zip(&names)
        .any(|(field, name)| flattened(field) || name.contains('.'))
    {
        return Vec::new();
    }
    let may_collide = |i: usize, j: usize| {
        flattened(fields[i])
            || flattened(fields[j])
            || under(&names[i], &names[j])
            || under(&names[j], &names[i])
    };
    let mut checks = Vec::new();
    for (j, later) in fields.iter().enumerate() {
        for (i, earlier) in fields[..j].iter().enumerate() {
            if !may_collide(i, j) {
                continue;
            }
            let (a, b) = (earlier.serde_name(), later.serde_name());
            let pair = quote!(&[FIELDS[#i], FIELDS[#j]]);
            let count = quote!({ ::metrics_core::__private::metric_count(#pair) });
            let duplicate = |before: String, after: String| quote!(::metrics_core::__private::duplicate_name::<#count>(#pair, #before, #after));
            // An item each, so that both are reported.
            for (span, before, after) in [
                (
                    later.name_span(),
                    "duplicate metric name `".to_owned(),
                    format!("`: fields `{a}` and `{b}` both export it (through `flatten`, a nested group or a dotted `rename`); rename one of them"),
                ),
                (
                    earlier.name_span(),
                    format!("first exported here: field `{a}` exports `"),
                    format!("`, as does field `{b}`"),
                ),
            ] {
                let check = fails_with(span, duplicate(before, after));
                checks.push(quote!(const _: () = #check;));
            }
        }
    }
    checks
}

/// Two metrics whose Prometheus names are the same (`a.b` and `a_b`, through nested groups
/// too) cannot both be exposed; only the compiler sees the nested groups' names, so this is a
/// `const` check over the whole schema tree, spanned at the struct's name (see
/// `prometheus_names`).
fn prometheus_names_check(ident: &syn::Ident) -> TokenStream {
    let check = fails_with(
        ident.span(),
        quote!(::metrics_core::__private::prometheus_name_collision::<
            { ::metrics_core::__private::claims_capacity(FIELDS) },
        >(FIELDS, PROMETHEUS)),
    );
    quote!(const _: () = #check;)
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
        };
    }
}
