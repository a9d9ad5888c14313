//! Compile-fail cases for `#[derive(MetricsGroup)]`.
//!
//! The messages a user reads when they misuse the derive are part of the product, so each
//! misuse has its own file under `tests/ui/` with the exact `.stderr` it must produce; a change
//! to a message, a span or the number of errors shows up as a diff here.
//!
//! `UI_FILTER=<glob>` runs only the compile-fail cases `tests/ui/<glob>.rs` (the test
//! harness's own filter cannot reach inside this one test), as in
//! `UI_FILTER='prometheus_*' TRYBUILD=overwrite cargo test --all-features --test ui`.

#[test]
fn compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail(
        std::env::var("UI_FILTER")
            .map_or("tests/ui/*.rs".to_owned(), |f| format!("tests/ui/{f}.rs")),
    );
    t.pass("tests/ui/pass/*.rs");
}
