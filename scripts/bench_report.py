#!/usr/bin/env python3
"""Medians of the last `cargo bench` run, per criterion group, with ratios and per-point times.

Reads target/criterion/<group>/<routine>/new/estimates.json (or $CARGO_TARGET_DIR's). In
each group, every routine is divided by each baseline routine present (`serde_json`,
`hand_written`, `hand_written_described`): a ratio below 1 means metrics-core took less time.
The scale bench's groups (`json_<n>`, `otlp_<n>`) also get the median divided by n.

    cargo bench && scripts/bench_report.py
"""

import glob
import json
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BASELINES = ["serde_json", "hand_written", "hand_written_described"]


def human(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    groups = {}
    for path in sorted(glob.glob(os.path.join(target, "criterion", "*", "*", "new", "estimates.json"))):
        group, routine = path.split(os.sep)[-4:-2]
        with open(path) as f:
            groups.setdefault(group, {})[routine] = json.load(f)["median"]["point_estimate"]
    print("| group | routine | median | ratio | per point |")
    print("| --- | --- | ---: | --- | ---: |")
    for group, routines in groups.items():
        kind, _, size = group.rpartition("_")
        points = int(size) if kind in ("json", "otlp") and size.isdigit() else None
        for routine, median in routines.items():
            ratios = ", ".join(
                f"{median / routines[b]:.3f} of {b}" for b in BASELINES
                if b in routines and b != routine
            )
            per_point = human(median / points) if points else ""
            print(f"| {group} | {routine} | {human(median)} | {ratios} | {per_point} |")


if __name__ == "__main__":
    main()
