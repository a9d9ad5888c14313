//! Collects every error of a derive so that a user sees all of them at once.

use std::fmt::Display;

use proc_macro2::{Span, TokenStream};

/// The errors found so far.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Adds an error at `span`.
    pub(crate) fn at(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Adds an error (which may itself hold several).
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Adds "first defined here" at `first` to the latest error, for duplicates.
    pub(crate) fn first_defined_here(&mut self, first: Span) {
        self.at(first, "first defined here");
    }

    /// Whether no error was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// The compile errors, if any.
    pub(crate) fn finish(self) -> Option<TokenStream> {
        self.0.map(|error| error.to_compile_error())
    }
}
