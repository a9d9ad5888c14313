//! The model of a derive input: the struct and its fields, each with its one role, keeping
//! the original syn nodes for error spans.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, LitStr, Type};

use crate::attr::{ContainerAttrs, FieldAttrs, Given, Keyword, MetricKeys, RoleKey, RENAME};
use crate::errors::Errors;
use crate::serde_attr::{SerdeContainer, SerdeField};

/// A struct deriving `MetricsGroup`.
pub(crate) struct Container<'a> {
    pub(crate) input: &'a DeriveInput,
    pub(crate) attrs: ContainerAttrs,
    /// What `#[serde(...)]` says about the JSON.
    pub(crate) serde: SerdeContainer,
    pub(crate) fields: Vec<Field<'a>>,
}

/// One named field.
pub(crate) struct Field<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    /// The span of `ty`, which syn otherwise computes from the type's tokens on each call:
    /// generated code spans several items at each field's type.
    pub(crate) ty_span: Span,
    pub(crate) rename: Option<Given<LitStr>>,
    pub(crate) role: Role,
    /// What `#[serde(...)]` says about the field's JSON member.
    pub(crate) serde: SerdeField,
    /// The first paragraph of the doc comment.
    pub(crate) doc: Option<String>,
}

/// What a field is. Which of a metric and a nested group an unannotated field is only its
/// type knows, so the model keeps what the attributes say and the generated code asks the
/// type (`Field::SHAPE`) for the rest.
pub(crate) enum Role {
    /// Declared a metric by a kind, `unit`, `description` or `label`.
    Metric(MetricKeys),
    /// No attribute says: a gauge, or a nested group named after the field, as the type says.
    MetricOrGroup,
    /// A nested group whose metrics join this group's names (`flatten`).
    FlattenedGroup { key_span: Span },
    /// Not a metric; written to the JSON only (`skip`).
    Skipped,
    /// Not a metric but the snapshot's time or start time (`timestamp`, `start_time`),
    /// an integer's unit given by `unit`; written to the JSON like a skipped field.
    Time {
        which: RoleKey,
        key_span: Span,
        unit: Option<Given<LitStr>>,
    },
}

impl Role {
    /// The role the attributes give; every key that the role makes meaningless is an error.
    fn from_attrs(attrs: &mut FieldAttrs, errors: &mut Errors) -> Role {
        let mut metric = std::mem::take(&mut attrs.metric);
        let Some(role) = &attrs.role else {
            return if metric.given().is_empty() {
                Role::MetricOrGroup
            } else {
                Role::Metric(metric)
            };
        };
        let keyword = role.value.keyword();
        let why = match role.value {
            RoleKey::Skip => "a skipped field is not a metric",
            RoleKey::Flatten => {
                "a flattened group's metrics are named and described by the group's own fields"
            }
            RoleKey::Timestamp | RoleKey::StartTime => {
                "a time field is not a metric (it takes `unit` only, the unit of an integer time)"
            }
        };
        // A time field's `unit` is its own: seconds, milliseconds... of an integer.
        let time_unit = match role.value {
            RoleKey::Timestamp | RoleKey::StartTime => metric.unit.take(),
            RoleKey::Skip | RoleKey::Flatten => None,
        };
        let rename = attrs.rename.take().map(|rename| (RENAME, rename.key_span));
        for (key, span) in metric.given().into_iter().chain(rename) {
            errors.at(
                span,
                format!("`{keyword}` cannot be combined with `{key}`: {why}; remove `{key}`"),
            );
        }
        match role.value {
            RoleKey::Skip => Role::Skipped,
            RoleKey::Flatten => Role::FlattenedGroup {
                key_span: role.key_span,
            },
            RoleKey::Timestamp | RoleKey::StartTime => Role::Time {
                which: role.value,
                key_span: role.key_span,
                unit: time_unit,
            },
        }
    }
}

impl<'a> Container<'a> {
    /// Reads the input; shapes other than a non-generic struct with named fields are errors.
    pub(crate) fn from_syn(input: &'a DeriveInput, errors: &mut Errors) -> Container<'a> {
        let attrs = ContainerAttrs::parse(&input.attrs, errors);
        let serde = SerdeContainer::parse(&input.attrs, errors);
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => named
                    .named
                    .iter()
                    .filter_map(|field| {
                        let mut attrs = FieldAttrs::parse(&field.attrs, errors);
                        let role = Role::from_attrs(&mut attrs, errors);
                        Some(Field {
                            ident: field.ident.as_ref()?,
                            ty: &field.ty,
                            ty_span: field.ty.span(),
                            rename: attrs.rename,
                            role,
                            serde: SerdeField::parse(&field.attrs, errors),
                            doc: attrs.doc,
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
            serde,
            fields,
        }
    }
}

impl Field<'_> {
    /// The field's name without `r#`: its metric name and, unless serde attributes say
    /// otherwise, its JSON key.
    pub(crate) fn serde_name(&self) -> String {
        let name = self.ident.to_string();
        name.strip_prefix("r#").map(str::to_owned).unwrap_or(name)
    }

    /// The local metric name: `rename`, or the field name.
    pub(crate) fn metric_name(&self) -> String {
        match &self.rename {
            Some(rename) => rename.value.value(),
            None => self.serde_name(),
        }
    }

    /// The token the field's metric name comes from: the `rename` value, or the field name.
    pub(crate) fn name_span(&self) -> Span {
        match &self.rename {
            Some(rename) => rename.value.span(),
            None => self.ident.span(),
        }
    }

    /// Whether the field's type, as written, is a std value type (an integer, a float,
    /// `bool`, `Duration`, a std atomic, or an `Option` of one), and whether its values are
    /// signed. Such a type is neither a map nor a group, so checks that ask the compiler
    /// about the type can be left out: at hundreds of fields they cost measurable build time.
    pub(crate) fn std_value(&self) -> Option<Signed> {
        std_value(self.ty)
    }

    /// Whether the field contributes a name of its own: a metric, or a nested group's path
    /// segment.
    pub(crate) fn is_named(&self) -> bool {
        matches!(self.role, Role::Metric(_) | Role::MetricOrGroup)
    }
}

impl Container<'_> {
    /// The field's JSON key as serde derives it, `None` when serde skips the field.
    pub(crate) fn json_key(&self, field: &Field) -> Option<String> {
        self.serde.json_key(&field.serde, &field.serde_name())
    }

    /// The field's name within the group, struct prefix applied. For a flattened group this
    /// is the path segment its metrics go under: the prefix, or nothing.
    pub(crate) fn metric_name(&self, field: &Field) -> String {
        let prefix = self
            .attrs
            .prefix
            .as_ref()
            .map(|prefix| prefix.value.value());
        match (prefix, field.is_named()) {
            (Some(prefix), false) => prefix,
            (None, false) => String::new(),
            (Some(prefix), true) => format!("{prefix}.{}", field.metric_name()),
            (None, true) => field.metric_name(),
        }
    }
}

/// Whether a std value type's values are signed; see [`Field::std_value`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signed {
    Yes,
    No,
}

fn std_value(ty: &Type) -> Option<Signed> {
    let Type::Path(path) = ty else {
        return None;
    };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    let name = last.ident.to_string();
    if name == "Option" {
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        return match args.args.first() {
            Some(syn::GenericArgument::Type(inner)) if args.args.len() == 1 => std_value(inner),
            _ => None,
        };
    }
    if !last.arguments.is_empty() {
        return None;
    }
    let name = name
        .strip_prefix("Atomic")
        .map_or(name.as_str(), |plain| plain);
    match name {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "I8" | "I16" | "I32" | "I64"
        | "Isize" => Some(Signed::Yes),
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "f32" | "f64" | "bool" | "U8" | "U16"
        | "U32" | "U64" | "Usize" | "Bool" | "Duration" => Some(Signed::No),
        _ => None,
    }
}

/// A type as a user writes it, for messages.
pub(crate) fn type_text(ty: &Type) -> String {
    quote::quote!(#ty)
        .to_string()
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
}
