#!/usr/bin/env python3
"""Time loading an inventory as `netwatch config check`, `netwatch run` and a reload do it.

Usage: python bench/config_load.py [--runs N] [--config PATH] [--no-round-trip]

For the file: load_inventory (libyaml with lines, netwatch.config.reader) median and max of
--runs; the same through the loader's child process (netwatch.config.isolated: parse, check,
pickle, unpickle here), with the child's peak RSS; `netwatch config check` as a command; and,
in the same run, the round-trip parser that loaded every file before (ruamel.yaml, pure
Python, once) and the parse-only peer: PyYAML's CSafeLoader (libyaml, no lines, no checks).
Issue 10's target: a 50,000-device inventory checks and loads in < 15 s.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from netwatch.config import default_config_path, isolated, load_inventory, reader

REPO = Path(__file__).resolve().parents[1]


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--config", default=default_config_path())
    parser.add_argument("--no-round-trip", action="store_true", help="skip the slow old parser")
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as fh:
        text = fh.read()
    inv = load_inventory(args.config)
    print(f"file: {args.config} ({text.count(chr(10))} lines, {len(inv.devices)} devices)")
    ours = timed(lambda: load_inventory(args.config), args.runs)
    med = statistics.median(ours)
    print(f"load_inventory (libyaml)    median {med:.2f} s  max {max(ours):.2f} s")
    child = timed(lambda: isolated.load(args.config), args.runs)
    hwm = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"isolated.load (child)       median {statistics.median(child):.2f} s  "
        f"max {max(child):.2f} s  child peak RSS {hwm:.0f} MiB"
    )
    cmd = [str(REPO / ".venv/bin/netwatch"), "config", "check", args.config]
    check = timed(lambda: subprocess.run(cmd, check=True, capture_output=True), args.runs)
    print(f"netwatch config check       median {statistics.median(check):.2f} s")
    peer = timed(lambda: yaml.load(text, Loader=yaml.CSafeLoader), args.runs)
    pmed = statistics.median(peer)
    print(f"peer CSafeLoader parse only median {pmed:.2f} s  (ours / peer {med / pmed:.1f})")
    if not args.no_round_trip:
        reader.FAST = False  # every document through ruamel's round-trip parser, as before
        (old,) = timed(lambda: load_inventory(args.config), 1)
        reader.FAST = True
        print(f"round-trip parser (before)  {old:.2f} s  ({old / med:.1f}x the libyaml load)")
    slowest = max(max(child), max(check))
    print(f"target check and load < 15 s: {'met' if slowest < 15 else 'MISSED'} ({slowest:.2f} s)")


if __name__ == "__main__":
    sys.exit(main())
