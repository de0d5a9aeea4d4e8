#!/usr/bin/env python3
"""Time loading the default inventory (the reload path) against a plain YAML parse as peer.

Usage: python bench/config_load.py [--runs N] [--config PATH]
The peer is ruamel.yaml's safe loader on the same file: parsing alone, no validation.
"""

from __future__ import annotations

import argparse
import statistics
import time

from ruamel.yaml import YAML

from netwatch.config import default_config_path, load_inventory


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--config", default=default_config_path())
    args = parser.parse_args()
    with open(args.config, encoding="utf-8") as fh:
        text = fh.read()
    inv = load_inventory(args.config)
    ours = timed(lambda: load_inventory(args.config), args.runs)
    peer = timed(lambda: YAML(typ="safe").load(text), args.runs)
    med, pmed = statistics.median(ours), statistics.median(peer)
    print(f"file: {args.config} ({text.count(chr(10))} lines, {len(inv.devices)} devices)")
    print(f"load_inventory  median {med * 1000:.0f} ms  max {max(ours) * 1000:.0f} ms")
    print(f"peer safe parse median {pmed * 1000:.0f} ms")
    print(
        f"ratio (ours / parse-only peer): {med / pmed:.2f}; target < 1000 ms: "
        f"{'met' if max(ours) < 1.0 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
