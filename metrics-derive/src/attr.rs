//! Parsing of `#[metrics(...)]` on the struct and `#[metric(...)]` on fields.
//!
//! Parsing never stops at the first problem: every unknown key, bad value and duplicate is
//! recorded in [`Errors`], and the rest of the attribute is still read.

use proc_macro2::{Span, TokenTree};
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::{Attribute, LitStr, Token};

use metrics_rules::{COUNTER, EXPONENTIAL_HISTOGRAM, GAUGE, HISTOGRAM, UP_DOWN_COUNTER};

use crate::errors::Errors;

/// The attribute on fields.
pub(crate) const METRIC: &str = "metric";
/// The attribute on the struct.
pub(crate) const METRICS: &str = "metrics";

const SKIP: &str = "skip";
const FLATTEN: &str = "flatten";
const TIMESTAMP: &str = "timestamp";
const START_TIME: &str = "start_time";
pub(crate) const UNIT: &str = "unit";
pub(crate) const DESCRIPTION: &str = "description";
pub(crate) const RENAME: &str = "rename";
pub(crate) const LABEL: &str = "label";
pub(crate) const BUCKETS: &str = "buckets";
const PREFIX: &str = "prefix";

/// Every key `#[metric(...)]` accepts, for did-you-mean suggestions.
const FIELD_KEYS: &[&str] = &[
    COUNTER,
    GAUGE,
    UP_DOWN_COUNTER,
    HISTOGRAM,
    EXPONENTIAL_HISTOGRAM,
    BUCKETS,
    SKIP,
    FLATTEN,
    TIMESTAMP,
    START_TIME,
    UNIT,
    DESCRIPTION,
    RENAME,
    LABEL,
];

/// A keyword of which a field takes at most one: its kind, or its role.
pub(crate) trait Keyword: Copy + PartialEq + 'static {
    /// All keywords of this sort, as written.
    const ALL: &'static [(&'static str, Self)];
    /// What a field has only one of, for the message when two are given.
    const ONE: &'static str;

    fn keyword(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, value)| *value == self)
            .map_or("", |(keyword, _)| keyword)
    }
}

/// A metric kind keyword.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    UpDownCounter,
    Histogram,
    ExponentialHistogram,
}

impl Keyword for Kind {
    const ALL: &'static [(&'static str, Kind)] = &[
        (COUNTER, Kind::Counter),
        (GAUGE, Kind::Gauge),
        (UP_DOWN_COUNTER, Kind::UpDownCounter),
        (HISTOGRAM, Kind::Histogram),
        (EXPONENTIAL_HISTOGRAM, Kind::ExponentialHistogram),
    ];
    const ONE: &'static str = "a metric has one kind";
}

/// A keyword that makes a field something other than a metric.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RoleKey {
    Skip,
    Flatten,
    Timestamp,
    StartTime,
}

impl Keyword for RoleKey {
    const ALL: &'static [(&'static str, RoleKey)] = &[
        (SKIP, RoleKey::Skip),
        (FLATTEN, RoleKey::Flatten),
        (TIMESTAMP, RoleKey::Timestamp),
        (START_TIME, RoleKey::StartTime),
    ];
    const ONE: &'static str = "a field has one role";
}

/// A value given in an attribute, with the span of its key for duplicate reports.
pub(crate) struct Given<T> {
    pub(crate) value: T,
    pub(crate) key_span: Span,
}

/// What `#[metric(...)]` attributes say about one field.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    /// `skip`, `flatten`, `timestamp` or `start_time`.
    pub(crate) role: Option<Given<RoleKey>>,
    pub(crate) rename: Option<Given<LitStr>>,
    pub(crate) metric: MetricKeys,
    /// The first paragraph of the doc comment, lines joined by spaces.
    pub(crate) doc: Option<String>,
}

/// The keys that describe a metric value (and make no sense on anything else).
#[derive(Default)]
pub(crate) struct MetricKeys {
    pub(crate) kind: Option<Given<Kind>>,
    pub(crate) unit: Option<Given<LitStr>>,
    pub(crate) description: Option<Given<LitStr>>,
    pub(crate) label: Option<Given<Labels>>,
    pub(crate) buckets: Option<Given<Buckets>>,
}

/// The bounds of `buckets = [0.1, 1, 10]`.
pub(crate) struct Buckets {
    pub(crate) bounds: Vec<f64>,
    /// The span of the whole list.
    pub(crate) span: Span,
}

/// The attribute keys of `label = "key"` or `label = ("key", "key2")`.
pub(crate) struct Labels {
    pub(crate) keys: Vec<LitStr>,
    /// The span of the whole value, for arity errors.
    pub(crate) span: Span,
}

impl MetricKeys {
    /// The keys given, as written, with their spans.
    pub(crate) fn given(&self) -> Vec<(&'static str, Span)> {
        let kind = self
            .kind
            .as_ref()
            .map(|kind| (kind.value.keyword(), kind.key_span));
        let valued = [(UNIT, &self.unit), (DESCRIPTION, &self.description)]
            .into_iter()
            .filter_map(|(key, given)| given.as_ref().map(|given| (key, given.key_span)));
        let label = self.label.as_ref().map(|label| (LABEL, label.key_span));
        let buckets = self
            .buckets
            .as_ref()
            .map(|buckets| (BUCKETS, buckets.key_span));
        kind.into_iter()
            .chain(valued)
            .chain(label)
            .chain(buckets)
            .collect()
    }
}

/// What `#[metrics(...)]` says about the struct.
#[derive(Default)]
pub(crate) struct ContainerAttrs {
    pub(crate) prefix: Option<Given<LitStr>>,
}

impl FieldAttrs {
    pub(crate) fn parse(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
        let mut parsed = FieldAttrs {
            doc: doc_summary(attrs),
            ..FieldAttrs::default()
        };
        for attr in attrs {
            if attr.path().is_ident(METRICS) {
                errors.at(
                    attr.path().span_ident(),
                    "`#[metrics(...)]` goes on the struct; use `#[metric(...)]` on fields",
                );
            } else if attr.path().is_ident(METRIC)
                && has_list(attr, METRIC, "counter, unit = \"s\"", errors)
            {
                let result = attr.parse_nested_meta(|meta| {
                    parsed.parse_key(&meta, errors);
                    Ok(())
                });
                if let Err(error) = result {
                    errors.push(error);
                }
            }
        }
        parsed
    }

    fn parse_key(&mut self, meta: &ParseNestedMeta, errors: &mut Errors) {
        let Some(key) = meta.path.get_ident().map(|ident| ident.to_string()) else {
            errors.at(
                meta.path.span_ident(),
                "expected a key such as `counter` or `unit = \"s\"`",
            );
            skip_value(meta, errors);
            return;
        };
        let span = meta.path.span_ident();
        let metric = &mut self.metric;
        match key.as_str() {
            UNIT => set(
                &mut metric.unit,
                string_value(meta, UNIT, errors),
                span,
                UNIT,
                errors,
            ),
            DESCRIPTION => set(
                &mut metric.description,
                string_value(meta, DESCRIPTION, errors),
                span,
                DESCRIPTION,
                errors,
            ),
            RENAME => set(
                &mut self.rename,
                string_value(meta, RENAME, errors),
                span,
                RENAME,
                errors,
            ),
            LABEL => set(
                &mut metric.label,
                labels_value(meta, errors),
                span,
                LABEL,
                errors,
            ),
            BUCKETS => set(
                &mut metric.buckets,
                buckets_value(meta, errors),
                span,
                BUCKETS,
                errors,
            ),
            word => {
                if !set_keyword(&mut self.role, meta, word, errors)
                    && !set_keyword(&mut metric.kind, meta, word, errors)
                {
                    unknown_key(meta, word, errors);
                }
            }
        }
    }
}

/// Reads `word` into `slot` if it is one of `K`'s keywords (returning whether it was),
/// reporting a second one with both places.
fn set_keyword<K: Keyword>(
    slot: &mut Option<Given<K>>,
    meta: &ParseNestedMeta,
    word: &str,
    errors: &mut Errors,
) -> bool {
    let Some(&(keyword, value)) = K::ALL.iter().find(|(keyword, _)| *keyword == word) else {
        return false;
    };
    let span = meta.path.span_ident();
    if flag(meta, keyword, errors).is_none() {
        return true;
    }
    match slot {
        Some(first) if first.value == value => {
            errors.at(span, format!("duplicate key `{keyword}`"));
            errors.first_defined_here(first.key_span);
        }
        Some(first) => {
            errors.at(
                span,
                format!(
                    "{}, but both `{}` and `{keyword}` are given",
                    K::ONE,
                    first.value.keyword()
                ),
            );
            errors.first_defined_here(first.key_span);
        }
        None => {
            *slot = Some(Given {
                value,
                key_span: span,
            })
        }
    }
    true
}

impl ContainerAttrs {
    pub(crate) fn parse(attrs: &[Attribute], errors: &mut Errors) -> ContainerAttrs {
        let mut parsed = ContainerAttrs::default();
        for attr in attrs {
            if attr.path().is_ident(METRIC) {
                errors.at(
                    attr.path().span_ident(),
                    "`#[metric(...)]` goes on fields; use `#[metrics(prefix = \"...\")]` on the struct",
                );
            } else if attr.path().is_ident(METRICS)
                && has_list(attr, METRICS, "prefix = \"...\"", errors)
            {
                let result = attr.parse_nested_meta(|meta| {
                    let span = meta.path.span_ident();
                    if meta.path.is_ident(PREFIX) {
                        let value = string_value(&meta, PREFIX, errors);
                        set(&mut parsed.prefix, value, span, PREFIX, errors);
                    } else {
                        let key = path_text(&meta);
                        errors.at(
                            span,
                            format!("unknown key `{key}` in `#[metrics(...)]`, expected `prefix = \"...\"`"),
                        );
                        skip_value(&meta, errors);
                    }
                    Ok(())
                });
                if let Err(error) = result {
                    errors.push(error);
                }
            }
        }
        parsed
    }
}

/// Whether the attribute is a list, `#[name(...)]`; records an error for `#[name]` and
/// `#[name = ...]`, whose own message from syn would not say what goes in the list.
fn has_list(attr: &Attribute, name: &str, example: &str, errors: &mut Errors) -> bool {
    if matches!(attr.meta, syn::Meta::List(_)) {
        return true;
    }
    errors.at(
        attr.path().span_ident(),
        format!("`#[{name}]` takes a list of keys, such as `#[{name}({example})]`"),
    );
    false
}

/// Stores a parsed value, reporting a duplicate key with both places.
fn set<T>(
    slot: &mut Option<Given<T>>,
    value: Option<T>,
    span: Span,
    key: &str,
    errors: &mut Errors,
) {
    let Some(value) = value else { return };
    match slot {
        Some(first) => {
            errors.at(span, format!("duplicate key `{key}`"));
            errors.first_defined_here(first.key_span);
        }
        None => {
            *slot = Some(Given {
                value,
                key_span: span,
            })
        }
    }
}

/// Reads `key = "string"`; records an error and returns `None` for anything else.
fn string_value(meta: &ParseNestedMeta, key: &str, errors: &mut Errors) -> Option<LitStr> {
    if !meta.input.peek(Token![=]) {
        errors.at(
            meta.path.span_ident(),
            format!("`{key}` needs a value: `{key} = \"...\"`"),
        );
        skip_value(meta, errors);
        return None;
    }
    let input = value_input(meta, errors)?;
    if input.peek(LitStr) {
        match input.parse::<LitStr>() {
            Ok(lit) => return Some(lit),
            Err(error) => errors.push(error),
        }
    } else {
        let start = input.span();
        errors.at(
            start,
            format!("`{key}` expects a string literal: `{key} = \"...\"`"),
        );
        skip_tokens(meta, errors);
    }
    None
}

/// Reads `label = "key"` or `label = ("key", "key2", ...)`; records an error and returns
/// `None` for anything else.
/// The input after `key =`, or `None` with the error recorded.
fn value_input<'a>(meta: &ParseNestedMeta<'a>, errors: &mut Errors) -> Option<ParseStream<'a>> {
    meta.value().map_err(|error| errors.push(error)).ok()
}

fn labels_value(meta: &ParseNestedMeta, errors: &mut Errors) -> Option<Labels> {
    if !meta.input.peek(Token![=]) || meta.input.peek2(LitStr) {
        return string_value(meta, LABEL, errors).map(|key| Labels {
            span: key.span(),
            keys: vec![key],
        });
    }
    let input = value_input(meta, errors)?;
    let span = input.span();
    let parsed = (|| {
        let content;
        syn::parenthesized!(content in input);
        let keys = content.parse_terminated(|input| input.parse::<LitStr>(), Token![,])?;
        Ok::<_, syn::Error>(keys.into_iter().collect::<Vec<_>>())
    })();
    match parsed {
        Ok(keys) => Some(Labels { keys, span }),
        Err(_) => {
            errors.at(
                span,
                "`label` expects a string literal or a tuple of them: `label = \"route\"` or `label = (\"route\", \"method\")`",
            );
            skip_tokens(meta, errors);
            None
        }
    }
}

/// Reads `buckets = [0.1, 1, 10]`: number literals, optionally negative; records an error and
/// returns `None` for anything else.
fn buckets_value(meta: &ParseNestedMeta, errors: &mut Errors) -> Option<Buckets> {
    const EXPECTED: &str =
        "`buckets` expects a list of number literals: `buckets = [0.005, 0.01, 0.1, 1]`";
    if !meta.input.peek(Token![=]) {
        errors.at(meta.path.span_ident(), EXPECTED);
        skip_value(meta, errors);
        return None;
    }
    let input = value_input(meta, errors)?;
    let span = input.span();
    let parsed = (|| {
        let content;
        syn::bracketed!(content in input);
        let items = content.parse_terminated(
            |input| {
                let negative = input.parse::<Option<Token![-]>>()?.is_some();
                let value = match input.parse::<syn::Lit>()? {
                    syn::Lit::Float(lit) => lit.base10_parse::<f64>()?,
                    syn::Lit::Int(lit) => lit.base10_parse::<f64>()?,
                    other => return Err(syn::Error::new(other.span(), EXPECTED)),
                };
                Ok(if negative { -value } else { value })
            },
            Token![,],
        )?;
        Ok::<_, syn::Error>(items.into_iter().collect::<Vec<f64>>())
    })();
    match parsed {
        Ok(bounds) => Some(Buckets { bounds, span }),
        Err(error) => {
            errors.at(error.span(), EXPECTED);
            skip_tokens(meta, errors);
            None
        }
    }
}

/// Reads a bare keyword; records an error and returns `None` when it was given a value.
fn flag(meta: &ParseNestedMeta, key: &str, errors: &mut Errors) -> Option<()> {
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        Some(())
    } else {
        errors.at(
            meta.path.span_ident(),
            format!("`{key}` takes no value: write `#[metric({key})]`"),
        );
        skip_value(meta, errors);
        None
    }
}

fn unknown_key(meta: &ParseNestedMeta, word: &str, errors: &mut Errors) {
    let span = meta.path.span_ident();
    let takes_value = meta.input.peek(Token![=]);
    let suggestion = did_you_mean(word, FIELD_KEYS);
    let message = if takes_value {
        format!("unknown key `{word}` in `#[metric(...)]`")
    } else if suggestion.is_some_and(|s| [SKIP, FLATTEN, TIMESTAMP, START_TIME].contains(&s)) {
        format!("unknown flag `{word}` in `#[metric(...)]`")
    } else {
        format!(
            "unknown metric kind `{word}`, expected one of `{COUNTER}`, `{GAUGE}`, `{UP_DOWN_COUNTER}`, `{HISTOGRAM}`, `{EXPONENTIAL_HISTOGRAM}`"
        )
    };
    let message = match suggestion {
        Some(suggestion) => format!("{message}; did you mean `{suggestion}`?"),
        None if takes_value => {
            format!("{message}, expected one of `{UNIT}`, `{DESCRIPTION}`, `{RENAME}`, `{LABEL}`, `{BUCKETS}`")
        }
        None => message,
    };
    errors.at(span, message);
    skip_value(meta, errors);
}

/// Consumes whatever follows a key (`= value` or `(...)`) so that parsing can go on.
pub(crate) fn skip_value(meta: &ParseNestedMeta, errors: &mut Errors) {
    if meta.input.peek(Token![=]) {
        if let Err(error) = meta.input.parse::<Token![=]>() {
            errors.push(error);
            return;
        }
    }
    skip_tokens(meta, errors);
}

/// Consumes tokens up to the next comma.
fn skip_tokens(meta: &ParseNestedMeta, errors: &mut Errors) {
    while !meta.input.is_empty() && !meta.input.peek(Token![,]) {
        if let Err(error) = meta.input.parse::<TokenTree>() {
            errors.push(error);
            return;
        }
    }
}

fn path_text(meta: &ParseNestedMeta) -> String {
    meta.path
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// The closest known key within two edits, if any.
fn did_you_mean(word: &str, known: &[&'static str]) -> Option<&'static str> {
    known
        .iter()
        .map(|&candidate| (edit_distance(word, candidate), candidate))
        .filter(|&(distance, candidate)| distance <= 2 && distance < candidate.len())
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance between two short ASCII-ish strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The first paragraph of the doc comment: trimmed lines joined by single spaces.
fn doc_summary(attrs: &[Attribute]) -> Option<String> {
    let lines = attrs.iter().filter_map(|attr| match &attr.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    });
    let mut summary = String::new();
    for line in lines.flat_map(|doc| doc.split('\n').map(str::to_owned).collect::<Vec<_>>()) {
        let line = line.trim();
        if line.is_empty() {
            if summary.is_empty() {
                continue;
            }
            break;
        }
        if !summary.is_empty() {
            summary.push(' ');
        }
        summary.push_str(line);
    }
    (!summary.is_empty()).then_some(summary)
}

/// The span of a path's last identifier, the narrowest token naming an attribute key.
trait SpanIdent {
    fn span_ident(&self) -> Span;
}

impl SpanIdent for syn::Path {
    fn span_ident(&self) -> Span {
        self.segments
            .last()
            .map_or_else(Span::call_site, |segment| segment.ident.span())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(did_you_mean("unti", FIELD_KEYS), Some(UNIT));
        assert_eq!(did_you_mean("countr", FIELD_KEYS), Some(COUNTER));
        assert_eq!(did_you_mean("summary", FIELD_KEYS), None);
        assert_eq!(did_you_mean("histogramm", FIELD_KEYS), Some(HISTOGRAM));
    }
}
