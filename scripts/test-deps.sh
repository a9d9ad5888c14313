#!/usr/bin/env bash
# Sets up what the tests run beside the Rust code, on first use, so that they work on a fresh
# machine: the OTLP receiver's Python venv (a program on Google's protobuf runtime) under
# target/, made again whenever tests/otlp_receiver/requirements.txt changes, and Debian's
# `prometheus` package (Prometheus and promtool) when missing (as root, as CI runs).
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
