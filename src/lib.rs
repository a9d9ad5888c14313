//! The workspace's root package: it owns the example service (`examples/`) and the
//! integration tests (`tests/`). Its only code runs README.md's examples as doctests.

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
