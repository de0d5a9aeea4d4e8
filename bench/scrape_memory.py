"""RSS, high-water and the C heap across /metrics scrapes at 50,000 devices, in one process.

The exposition_bench state (synthetic inventory, one ping round per device, the alert engine
evaluated once); then scrapes as Prometheus makes them (OpenMetrics, gzip, through
`MetricsEndpoint.body`), half the devices polled between two (--rounds together: every device
between every other two, as `netwatch run`'s echo stream closes its rounds). After each:
VmRSS, VmHWM and the resident MiB of glibc's main heap (`[heap]` in /proc/self/smaps) and of
anonymous mappings (pymalloc's arenas, blocks above the mmap threshold, other threads' malloc
arenas); with --trace also the scrape's own peak, Python's allocations traced by tracemalloc
above what was allocated before it (the high-water shows only a peak above every earlier one).
Run it with main's and a branch's code to compare (issue 10: RSS < 500 MiB, high-water too).

    .venv/bin/python bench/scrape_memory.py [--devices 50000] [--scrapes 6] [--trace]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.exposition_bench import ROUNDS, ROUNDS_HELP, new_rounds, pinged_state
from bench.memory_bench import rss
from netwatch.collectors.icmp import PLUGIN as ICMP
from netwatch.exporters.prometheus import Exposition, Format, inventory_families
from netwatch.exporters.prometheus_alerts import source
from netwatch.web.metrics import MetricsEndpoint


def resident() -> tuple[float, float]:
    """Resident MiB of the main heap and of anonymous mappings."""
    heap = anon = 0.0
    kind = None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        parts = line.split()
        if not parts[0].endswith(":"):  # a mapping's first line
            kind = "heap" if parts[-1] == "[heap]" else "anon" if len(parts) == 5 else None
        elif parts[0] == "Rss:" and kind is not None:
            if kind == "heap":
                heap += int(parts[1]) / 1024
            else:
                anon += int(parts[1]) / 1024
    return heap, anon


def kept_mib(exposition: Exposition) -> float:
    """MiB of deflate segments kept between scrapes (collector slices, inventory facts, rollup,
    per-village alert families), held whether or not a scrape is under way."""
    kept = [k for s in exposition._series.values() for fs in s.by_name.values()
            for k in fs.kept.values()]  # fmt: skip
    for src in exposition.sources:
        kept += getattr(src, "_kept", {}).values()
    return sum(len(k.deflated.data) for k in kept if k.deflated is not None) / 2**20


def line(what: str) -> str:
    (now, hwm), (heap, anon) = rss(), resident()
    return f"{what:28s} RSS {now:6.1f}  high-water {hwm:6.1f}  heap {heap:6.1f}  anon {anon:6.1f}"


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=50_000)
    ap.add_argument("--scrapes", type=int, default=6)
    ap.add_argument("--rounds", choices=ROUNDS, default="half", help=ROUNDS_HELP)
    ap.add_argument("--trace", action="store_true", help="each scrape's peak by tracemalloc")
    args = ap.parse_args()
    with pinged_state(args.devices) as (state, service, names, t):
        endpoint = MetricsEndpoint(Exposition(state, [inventory_families, ICMP, source(service)]))
        print(f"{len(names)} devices")
        print(line("before the first scrape"))
        if args.trace:
            tracemalloc.start()
        for i in range(args.scrapes):
            new_rounds(state, t + 15 * (i + 1), names, i, args.rounds)
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            body = await endpoint.body(Format.OPENMETRICS, True, "application/openmetrics-text")
            peak = tracemalloc.get_traced_memory()[1] - before
            traced = f"  scrape's peak +{peak / 2**20:.1f}" if args.trace else ""
            kept = f"  kept {kept_mib(endpoint.exposition):.1f}"
            print(line(f"scrape {i + 1} ({len(body) / 2**20:.1f} MiB gzip)") + kept + traced)
            del body
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
