//! Compile-fail cases for `#[derive(MetricsGroup)]`.
//!
//! The messages a user reads when they misuse the derive are part of the product, so each
//! misuse has its own file under `tests/ui/` with the exact `.stderr` it must produce; a change
//! to a message, a span or the number of errors shows up as a diff here.

#[test]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
