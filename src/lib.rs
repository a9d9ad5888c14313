//! The workspace's root package: it owns the example service (`examples/`) and the
//! integration tests (`tests/`). Its only code runs README.md's examples as doctests.

// README.md shows the exporters: its examples build wherever they are compiled in.
#[doc = include_str!("../README.md")]
#[cfg(all(doctest, feature = "export"))]
pub struct ReadmeDoctests;
