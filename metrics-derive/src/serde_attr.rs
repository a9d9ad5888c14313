//! The `#[serde(...)]` attributes of a struct that derives both `MetricsGroup` and
//! `serde::Serialize`, read so that the derived JSON writer writes what serde_json would.
//!
//! Followed: `rename` and `rename_all` (plain, or their `serialize = ".."` part), `skip` and
//! `skip_serializing`. Ignored, because they change only deserialization or the impl's
//! bounds and paths, never the serialized bytes: `alias`, `default`, `deserialize_with`,
//! `skip_deserializing`, `borrow`, `bound`, `crate`, `deny_unknown_fields`, `expecting`,
//! `from`, `try_from`. Anything else (`flatten`, `serialize_with`, `with`,
//! `skip_serializing_if`, `getter`, `tag`, `content`, `untagged`, `transparent`, `into`,
//! `remote`, and keys of a later serde) would make serde's JSON differ from the writer's,
//! so it is a compile error at the key. Malformed values are left to serde's own derive,
//! which reports them.
//!
//! Metric names do not follow serde renames: they come from field names and
//! `#[metric(rename)]`, so renaming a JSON key never renames a metric.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr};

use crate::attr::skip_value;
use crate::errors::Errors;

const SERDE: &str = "serde";
const RENAME: &str = "rename";
const RENAME_ALL: &str = "rename_all";
const SERIALIZE: &str = "serialize";

/// Keys that never change the serialized bytes of a struct.
const IGNORED: &[&str] = &[
    "alias",
    "default",
    "deserialize_with",
    "skip_deserializing",
    "borrow",
    "bound",
    "crate",
    "deny_unknown_fields",
    "expecting",
    "from",
    "try_from",
];

/// What serde's attributes on the struct say about its JSON.
#[derive(Default)]
pub(crate) struct SerdeContainer {
    rename_all: Option<RenameRule>,
}

/// What serde's attributes on a field say about its JSON member.
#[derive(Default)]
pub(crate) struct SerdeField {
    /// The serialized name given by `rename`.
    rename: Option<String>,
    /// `skip` or `skip_serializing`: no member at all.
    pub(crate) skip: bool,
}

impl SerdeContainer {
    pub(crate) fn parse(attrs: &[Attribute], errors: &mut Errors) -> SerdeContainer {
        let mut parsed = SerdeContainer::default();
        for_each_key(attrs, errors, |meta, key, errors| match key {
            RENAME_ALL => {
                if let Some(rule) = serialize_value(meta, errors) {
                    // An unknown rule is serde's error to report.
                    parsed.rename_all = RenameRule::from_str(&rule.value());
                }
            }
            // Serde's JSON has no struct name in it.
            RENAME => skip_value(meta, errors),
            _ => unsupported(meta, key, errors),
        });
        parsed
    }

    /// The JSON key of the field whose identifier (without `r#`) is `ident`, as serde
    /// derives it: its `rename`, else the container's `rename_all` applied to it; `None`
    /// when it is not serialized.
    pub(crate) fn json_key(&self, field: &SerdeField, ident: &str) -> Option<String> {
        if field.skip {
            return None;
        }
        Some(match (&field.rename, self.rename_all) {
            (Some(rename), _) => rename.clone(),
            (None, Some(rule)) => rule.apply_to_field(ident),
            (None, None) => ident.to_owned(),
        })
    }
}

impl SerdeField {
    pub(crate) fn parse(attrs: &[Attribute], errors: &mut Errors) -> SerdeField {
        let mut parsed = SerdeField::default();
        for_each_key(attrs, errors, |meta, key, errors| match key {
            RENAME => {
                if let Some(name) = serialize_value(meta, errors) {
                    parsed.rename = Some(name.value());
                }
            }
            "skip" | "skip_serializing" => parsed.skip = true,
            _ => unsupported(meta, key, errors),
        });
        parsed
    }
}

/// Calls `each` on every key of every `#[serde(...)]` attribute that is not in [`IGNORED`];
/// `each` consumes the key's value.
fn for_each_key(
    attrs: &[Attribute],
    errors: &mut Errors,
    mut each: impl FnMut(&ParseNestedMeta, &str, &mut Errors),
) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident(SERDE)) {
        // `#[serde]` without a list is serde's error to report.
        if !matches!(attr.meta, syn::Meta::List(_)) {
            continue;
        }
        let result = attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            if IGNORED.contains(&key.as_str()) {
                skip_value(&meta, errors);
            } else {
                each(&meta, &key, errors);
            }
            Ok(())
        });
        // Malformed serde attributes are reported by serde's derive, with its own messages.
        drop(result);
    }
}

/// The serialize-side value of `key = ".."` or `key(serialize = "..", deserialize = "..")`;
/// `None` when only the deserialize side is given (or the value is malformed).
fn serialize_value(meta: &ParseNestedMeta, errors: &mut Errors) -> Option<LitStr> {
    if meta.input.peek(syn::Token![=]) {
        return meta.value().ok()?.parse::<LitStr>().ok();
    }
    let mut serialize = None;
    let result = meta.parse_nested_meta(|inner| {
        if inner.path.is_ident(SERIALIZE) {
            serialize = inner.value()?.parse::<LitStr>().ok();
        } else {
            skip_value(&inner, errors);
        }
        Ok(())
    });
    result.ok().and(serialize)
}

/// Reports a serde attribute the JSON writer does not follow, at its key.
fn unsupported(meta: &ParseNestedMeta, key: &str, errors: &mut Errors) {
    let span = meta
        .path
        .segments
        .last()
        .map_or_else(Span::call_site, |segment| segment.ident.span());
    errors.at(
        span,
        format!(
            "`#[serde({key})]` is not supported with `MetricsGroup`: `metrics_core::json` would not follow it and would write different JSON from serde_json; supported are `rename`, `rename_all`, `skip`, `skip_serializing` and the deserialize-only attributes"
        ),
    );
    skip_value(meta, errors);
}

/// serde_derive's `rename_all` rules for struct fields (`internals/case.rs`), rule for rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

impl RenameRule {
    const ALL: [(&'static str, RenameRule); 8] = [
        ("lowercase", RenameRule::Lower),
        ("UPPERCASE", RenameRule::Upper),
        ("PascalCase", RenameRule::Pascal),
        ("camelCase", RenameRule::Camel),
        ("snake_case", RenameRule::Snake),
        ("SCREAMING_SNAKE_CASE", RenameRule::ScreamingSnake),
        ("kebab-case", RenameRule::Kebab),
        ("SCREAMING-KEBAB-CASE", RenameRule::ScreamingKebab),
    ];

    fn from_str(rule: &str) -> Option<RenameRule> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == rule)
            .map(|&(_, rule)| rule)
    }

    /// serde_derive's `RenameRule::apply_to_field`: field names are taken to be snake_case,
    /// so `lowercase` and `snake_case` leave them as they are.
    fn apply_to_field(self, field: &str) -> String {
        match self {
            RenameRule::Lower | RenameRule::Snake => field.to_owned(),
            RenameRule::Upper | RenameRule::ScreamingSnake => field.to_ascii_uppercase(),
            RenameRule::Pascal => {
                let mut pascal = String::new();
                let mut capitalize = true;
                for ch in field.chars() {
                    if ch == '_' {
                        capitalize = true;
                    } else if capitalize {
                        pascal.push(ch.to_ascii_uppercase());
                        capitalize = false;
                    } else {
                        pascal.push(ch);
                    }
                }
                pascal
            }
            RenameRule::Camel => {
                let mut camel = RenameRule::Pascal.apply_to_field(field);
                // serde lowercases the first byte (and panics where that is not a character
                // boundary; a field name of non-ASCII letters only reaches here then).
                if let Some(first) = camel.get_mut(..1) {
                    first.make_ascii_lowercase();
                }
                camel
            }
            RenameRule::Kebab => field.replace('_', "-"),
            RenameRule::ScreamingKebab => field.to_ascii_uppercase().replace('_', "-"),
        }
    }
}

/// `key` as a JSON string literal, escaped exactly as serde_json escapes strings: `"`, `\`
/// and control characters below U+0020 only, with the short forms it uses.
pub(crate) fn quoted_json_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 2);
    out.push('"');
    for c in key.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_serde_derive() {
        // serde_derive's own test table (`case.rs`, `rename_fields`).
        for &(original, upper, pascal, camel, screaming, kebab, screaming_kebab) in &[
            (
                "outcome", "OUTCOME", "Outcome", "outcome", "OUTCOME", "outcome", "OUTCOME",
            ),
            (
                "very_tasty",
                "VERY_TASTY",
                "VeryTasty",
                "veryTasty",
                "VERY_TASTY",
                "very-tasty",
                "VERY-TASTY",
            ),
            ("a", "A", "A", "a", "A", "a", "A"),
            ("z42", "Z42", "Z42", "z42", "Z42", "z42", "Z42"),
        ] {
            let apply = |rule: &str| RenameRule::from_str(rule).unwrap().apply_to_field(original);
            assert_eq!(apply("lowercase"), original);
            assert_eq!(apply("snake_case"), original);
            assert_eq!(apply("UPPERCASE"), upper);
            assert_eq!(apply("PascalCase"), pascal);
            assert_eq!(apply("camelCase"), camel);
            assert_eq!(apply("SCREAMING_SNAKE_CASE"), screaming);
            assert_eq!(apply("kebab-case"), kebab);
            assert_eq!(apply("SCREAMING-KEBAB-CASE"), screaming_kebab);
        }
        assert_eq!(RenameRule::from_str("Camelcase"), None);
    }

    #[test]
    fn keys_are_escaped_as_serde_json_escapes_them() {
        assert_eq!(quoted_json_key("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(
            quoted_json_key("\n\t\u{1}\u{7f}é"),
            "\"\\n\\t\\u0001\u{7f}é\""
        );
    }
}
