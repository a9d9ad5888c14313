#!/usr/bin/env python3
"""Instructions per operation of each benchmark routine, counted by callgrind.

Timings on a shared machine move with its load; instruction counts do not. Each routine of a
bench (see benches/support/mod.rs) runs once to warm up and then --iters times inside
`support::instrumented`, the only function callgrind collects in.

    scripts/callgrind.py json_encode [otlp_collect ...] [--iters 1000] [--filter reference]
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def bench_binary(bench):
    out = subprocess.run(
        ["cargo", "bench", "--bench", bench, "--no-run", "--message-format=json"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        message = json.loads(line)
        if message.get("reason") == "compiler-artifact" and message["target"]["name"] == bench \
                and message.get("executable"):
            return message["executable"]
    sys.exit(f"no executable for bench {bench}")


def instructions(binary, routine, iters):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        env = dict(os.environ, BENCH_INSTRUMENT=routine, BENCH_ITERS=str(iters))
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             "--toggle-collect=*support::instrumented*", binary],
            env=env, check=True, capture_output=True,
        )
        with open(out) as f:
            for line in f:
                match = re.match(r"(?:summary|totals): (\d+)", line)
                if match:
                    return int(match.group(1)) / iters
    sys.exit(f"no totals for {routine}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("benches", nargs="+")
    parser.add_argument("--iters", type=int, default=1000)
    parser.add_argument("--filter", default="")
    args = parser.parse_args()
    print("| routine | instructions per op | ratio to the group's last routine |")
    print("| --- | ---: | ---: |")
    for bench in args.benches:
        binary = bench_binary(bench)
        listing = subprocess.run([binary], env=dict(os.environ, BENCH_LIST="1"),
                                 check=True, capture_output=True, text=True).stdout.split()
        groups = {}
        for routine in listing:
            if args.filter in routine:
                groups.setdefault(routine.rsplit("/", 1)[0], []).append(routine)
        for routines in groups.values():
            counts = [(r, instructions(binary, r, args.iters)) for r in routines]
            last = counts[-1][1]
            for routine, count in counts:
                print(f"| {bench}: {routine} | {count:,.0f} | {count / last:.3f} |", flush=True)


if __name__ == "__main__":
    main()
