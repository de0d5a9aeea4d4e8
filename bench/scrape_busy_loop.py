"""/metrics scrape time at 50,000 devices on a busy event loop, in one process.

The exposition_bench state (synthetic inventory, one ping round per device, the alert engine);
a task stands for the rest of `netwatch run`: every turn of the loop it spins --busy-ms of CPU,
at most --load of the time. Scrapes as Prometheus makes them (OpenMetrics, gzip, through
`MetricsEndpoint.body`), half the devices polled between two (ping every 30 s, scrape every
15 s), or with --rounds together every device's round between every other two (the echo
stream closes every device's round in the same slot, so `netwatch run` scrapes that way).
Prints each scrape's wall time, the CPU the loop thread gave the render (its CPU during the
scrape less the busy task's) and the longest turn the render held the loop. Run with main's
and a branch's code to compare.

    .venv/bin/python bench/scrape_busy_loop.py [--devices 50000] [--scrapes 6] [--busy-ms 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from collections.abc import Coroutine, Generator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.exposition_bench import ROUNDS, ROUNDS_HELP, new_rounds, pinged_state
from netwatch.collectors.icmp import PLUGIN as ICMP
from netwatch.exporters.prometheus import Exposition, Format, inventory_families
from netwatch.exporters.prometheus_alerts import source
from netwatch.web.metrics import Body, MetricsEndpoint


class _Steps:
    """Awaits a coroutine step by step, noting the longest step in holds[-1]: the longest
    stretch it held the event loop (between two of its awaits that suspend)."""

    def __init__(self, coro: Coroutine[Any, Any, Any], holds: list[float]) -> None:
        self.coro, self.holds = coro, holds

    def __await__(self) -> Generator[Any, Any, Any]:
        clock, value, error = time.perf_counter, None, None
        while True:
            t0 = clock()
            try:
                step = self.coro.throw(error) if error is not None else self.coro.send(value)
            except StopIteration as done:
                self.holds[-1] = max(self.holds[-1], clock() - t0)
                return done.value
            self.holds[-1] = max(self.holds[-1], clock() - t0)
            try:
                value, error = (yield step), None
            except BaseException as e:  # a cancellation: passed on to the coroutine
                value, error = None, e


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=50_000)
    ap.add_argument("--scrapes", type=int, default=6)
    ap.add_argument("--busy-ms", type=float, default=5.0, help="CPU of other work per turn")
    ap.add_argument("--load", type=float, default=0.4, help="share of the time it takes")
    ap.add_argument("--rounds", choices=ROUNDS, default="half", help=ROUNDS_HELP)
    ap.add_argument(
        "--freeze",
        action="store_true",
        help="gc.freeze() the state first, as netwatch run settles its heap: a full collection "
        "of the unfrozen heap (~0.2 s) is otherwise the longest hold of the loop",
    )
    args = ap.parse_args()
    busy_cpu = 0.0
    stop = False

    async def other_work() -> None:  # the echo stream, SNMP, alerting: CPU in turns
        nonlocal busy_cpu
        spin = args.busy_ms / 1e3
        while not stop:
            t0 = time.thread_time()
            end = time.perf_counter() + spin
            while time.perf_counter() < end:
                pass
            busy_cpu += time.thread_time() - t0
            await asyncio.sleep(spin * (1 - args.load) / args.load)

    with pinged_state(args.devices) as (state, service, names, t):
        endpoint = MetricsEndpoint(Exposition(state, [inventory_families, ICMP, source(service)]))
        await endpoint.body(Format.OPENMETRICS, True, "application/openmetrics-text")  # cold
        if args.freeze:  # as `netwatch run` settles its heap (netwatch/core/heap.py)
            gc.collect()
            gc.freeze()
        task = asyncio.create_task(other_work())
        walls, cpus, wholes, holds = [], [], [], []
        render = endpoint._render

        async def timed(*call: object) -> Body:  # each step of the render is a hold of the loop
            return await _Steps(render(*call), holds)  # type: ignore[arg-type]

        endpoint._render = timed  # type: ignore[method-assign]
        for i in range(args.scrapes):
            new_rounds(state, t + 15 * (i + 1), names, i, args.rounds)
            await asyncio.sleep(0.2)
            holds.append(0.0)
            busy0, cpu0, t0 = busy_cpu, time.thread_time(), time.perf_counter()
            proc0 = time.process_time()
            body = await endpoint.body(Format.OPENMETRICS, True, "application/openmetrics-text")
            wall = time.perf_counter() - t0
            cpu = time.thread_time() - cpu0 - (busy_cpu - busy0)
            whole = time.process_time() - proc0 - (busy_cpu - busy0)  # with the gzip thread
            walls.append(wall)
            cpus.append(cpu)
            wholes.append(whole)
            print(f"scrape {i + 1}: {wall:.2f} s wall, {cpu:.2f} s render CPU on the loop "
                  f"thread, {whole:.2f} s with gzip, longest hold {holds[-1] * 1e3:.0f} ms, "
                  f"{len(body) / 2**20:.1f} MiB gzip")  # fmt: skip
        stop = True
        await task
    print(f"median {statistics.median(walls):.2f} s, max {max(walls):.2f} s wall; render CPU "
          f"median {statistics.median(cpus):.2f} s, mean {statistics.mean(cpus):.2f} s; with "
          f"gzip: mean {statistics.mean(wholes):.2f} s; longest hold {max(holds) * 1e3:.0f} ms "
          f"(busy loop: {args.busy_ms} ms a turn, "
          f"{args.load:.0%} of the time)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
