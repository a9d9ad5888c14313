#!/usr/bin/env bash
# Runs the whole test suite. The OTLP tests talk to a real receiver, a Python program on
# Google's protobuf runtime: its venv is created under target/ on first use (and again
# whenever tests/otlp_receiver/requirements.txt changes), so this works on a fresh machine.
# The Prometheus tests run a real Prometheus and promtool: Debian's `prometheus` package is
# installed when they are missing (as root, as CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/otlp-venv
requirements=tests/otlp_receiver/requirements.txt
if [ -f "$requirements" ] && ! cmp -s "$requirements" "$venv/requirements.txt"; then
  echo "setting up the OTLP receiver's Python environment in $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi

if ! [ -x /usr/bin/prometheus ] || ! [ -x /usr/bin/promtool ]; then
  echo "installing Debian's prometheus package for tests/prometheus.rs" >&2
  install="apt-get install -y -q --no-install-recommends prometheus"
  $install || { apt-get update -q && $install; }
fi

cargo test --workspace --all-features "$@"
