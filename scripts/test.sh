#!/usr/bin/env bash
# Runs the whole test suite, with every feature. What the tests need beside the Rust code
# (the OTLP receiver's Python venv, a real Prometheus) is set up first, on first use.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/test-deps.sh
cargo test --workspace --all-features "$@"
