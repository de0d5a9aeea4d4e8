"""Scheduler lag while /metrics is scraped at 50,000 devices, and the loop's long callbacks.

The scrape_cpu state (exposition_bench's synthetic inventory and alert engine, an SNMP fifth)
served by /metrics on 127.0.0.1 (`MetricsEndpoint.handle`, netwatch run's sources), scraped by
curl from a thread as Prometheus scrapes it (OpenMetrics, gzip; --plain-every n: every n-th
scrape plain text as curl asks for it). The SNMP fifth is polled by netwatch's own `Scheduler`
(APScheduler slots, 60 s interval, a stand-in collector whose poll waits --poll-ms and records
an SNMP observation of the device), so the lag histogram is netwatch's (timer → slot task →
device run). Every device's ping round closes every 30 s between two scrapes (in slices of
1,000 devices, as turns of the loop). Windows: a warm-up, then --windows in order (scraping:
a scrape every 15 s; quiet: none), each --seconds long. Per window: the lag p50/p99 and their
run_bench buckets, the lags of runs due while a render was under way, and every callback of the
loop (asyncio Handle._run) that ran over --long-ms, by coroutine or function, wall and thread
CPU (wall much above CPU: the loop thread waited, for the GIL or a lock or the other core), and
each malloc_trim(0) the endpoint asked for after its scrapes (in the executor: it holds the
allocator's lock). --busy-ms: other work on the loop, as scrape_busy_loop.py's.

    .venv/bin/python bench/scrape_lag.py [--devices 50000] [--seconds 60] [--long-ms 10]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web

from bench.exposition_bench import ping_all, pinged_state
from bench.scrape_cpu import polled_sources, snmp_poll
from netwatch.core import memory
from netwatch.core import scheduler as scheduler_mod
from netwatch.core.model import Device
from netwatch.core.state import State
from netwatch.exporters.prometheus import Exposition
from netwatch.web.metrics import MetricsEndpoint

BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1, 2.5, 5, 10)
PROMETHEUS = [
    "-H",
    "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "-H",
    "Accept-Encoding: gzip",
]


def bucket(value: float) -> float:
    return next((b for b in BUCKETS if value <= b), float("inf"))


def _name(handle: asyncio.Handle) -> str:
    cb: Any = handle._callback  # type: ignore[attr-defined]
    task = getattr(cb, "__self__", None)
    if isinstance(task, asyncio.Task):
        coro: Any = task.get_coro()
        return f"task {getattr(coro, '__qualname__', repr(coro))}"
    inner = getattr(cb, "__func__", cb)
    return getattr(inner, "__qualname__", None) or repr(cb)


class LongCallbacks:
    """Every callback of the loop over `limit` seconds: (start, wall, thread CPU, name)."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.seen: list[tuple[float, float, float, str]] = []
        # Shorter callbacks whose wall time exceeded their CPU by over 1 ms: (start, waited)
        self.waits: list[tuple[float, float]] = []
        self._orig = asyncio.events.Handle._run

    def install(self) -> None:
        orig, seen, limit = self._orig, self.seen, self.limit
        clock, cpu = time.perf_counter, time.thread_time

        waits = self.waits

        def _run(handle: asyncio.Handle) -> None:
            t0, c0 = clock(), cpu()
            orig(handle)
            wall = clock() - t0
            if wall > limit:
                seen.append((t0, wall, cpu() - c0, _name(handle)))
            elif wall > 0.001 and wall - (cpu() - c0) > 0.001:
                waits.append((t0, wall - (cpu() - c0)))

        asyncio.events.Handle._run = _run  # type: ignore[method-assign]

    def remove(self) -> None:
        asyncio.events.Handle._run = self._orig  # type: ignore[method-assign]


class StandInSnmp:
    """The SNMP collector as the scheduler sees it: a poll waits poll_ms (the agent's answer)
    and records an SNMP observation of the device, as snmp_poll does."""

    name = "snmp"

    def __init__(self, names: set[str], state: State, poll_ms: float) -> None:
        self.names, self.state, self.wait = names, state, poll_ms / 1e3

    def applies(self, device: Device) -> bool:
        return device.name in self.names

    def interval(self, device: Device) -> float:
        return 60.0

    async def collect(self, device: Device) -> None:  # records itself; the sink drops None
        await asyncio.sleep(self.wait)
        snmp_poll(self.state, [device.name], time.time())


class Scraper(threading.Thread):
    """curl every `every` seconds while `on` is set; each scrape's (start, seconds, plain)."""

    def __init__(self, url: str, every: float, plain_every: int) -> None:
        super().__init__(daemon=True)
        self.url, self.every, self.plain_every = url, every, plain_every
        self.on = threading.Event()
        self.stop = threading.Event()
        self.done: list[tuple[float, float, bool]] = []

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            if not self.on.wait(0.2):
                continue
            n += 1
            plain = self.plain_every > 0 and n % self.plain_every == 0
            t0 = time.perf_counter()
            subprocess.run(
                ["curl", "-s", "-o", "/dev/null", *([] if plain else PROMETHEUS), self.url],
                check=True,
                timeout=60,
            )
            self.done.append((t0, time.perf_counter() - t0, plain))
            self.stop.wait(max(0.0, self.every - (time.perf_counter() - t0)))


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=50_000)
    ap.add_argument("--seconds", type=float, default=60.0, help="each window's length")
    ap.add_argument("--warmup", type=float, default=20.0)
    ap.add_argument("--windows", default="scraping,quiet", help="their order, comma-separated")
    ap.add_argument("--every", type=float, default=15.0, help="seconds between two scrapes")
    ap.add_argument("--plain-every", type=int, default=0, help="every n-th scrape plain text")
    ap.add_argument("--snmp-every", type=int, default=5, help="every n-th device over SNMP")
    ap.add_argument("--poll-ms", type=float, default=10.0)
    ap.add_argument("--long-ms", type=float, default=10.0)
    ap.add_argument("--top", type=int, default=12, help="long callbacks listed per window")
    ap.add_argument(
        "--busy-ms",
        type=float,
        default=0.0,
        help="other work of the loop (the echo stream, alerting): a task spinning this much CPU "
        "a turn, --load of the time",
    )
    ap.add_argument("--load", type=float, default=0.15)
    args = ap.parse_args()
    loop = asyncio.get_running_loop()
    with pinged_state(args.devices) as (state, service, names, t):
        snmp = names[:: args.snmp_every]
        sources = polled_sources(state, service, snmp, t)
        endpoint = MetricsEndpoint(Exposition(state, sources))
        app = web.Application()
        app.router.add_get("/metrics", endpoint.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        url = f"http://127.0.0.1:{port}/metrics"

        lags: list[tuple[float, float]] = []  # (when observed, lag)
        observe = scheduler_mod.Scheduler._observe_lag

        def record(self: scheduler_mod.Scheduler, collector: str, scheduled: datetime) -> None:
            observe(self, collector, scheduled)
            lags.append((time.perf_counter(), (datetime.now(scheduled.tzinfo) - scheduled)
                         .total_seconds()))  # fmt: skip

        scheduler_mod.Scheduler._observe_lag = record  # type: ignore[method-assign]
        sched = scheduler_mod.Scheduler(
            [StandInSnmp(set(snmp), state, args.poll_ms)], lambda _: None
        )
        sched.start(state.inventory)

        renders: list[tuple[float, float]] = []  # (start, end) of each render
        render = endpoint._render

        async def timed(*call: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return await render(*call)
            finally:
                renders.append((t0, time.perf_counter()))

        endpoint._render = timed  # type: ignore[method-assign]

        async def rounds() -> None:  # every 30 s, between two scrapes, 1,000 devices a turn
            k = 0
            await asyncio.sleep(args.every / 2)
            while True:
                now = time.time()
                for a in range(0, len(names), 1000):
                    ping_all(state, now, names[a : a + 1000])
                    await asyncio.sleep(0)
                k += 1
                await asyncio.sleep(30.0 - (time.time() - now))

        trims: list[tuple[float, float]] = []  # malloc_trim(0) after scrapes: (start, wall)
        trim = memory.TRIMMER._trim
        if trim is not None:

            def timed_trim(pad: int) -> int:
                t0 = time.perf_counter()
                try:
                    return trim(pad)
                finally:
                    trims.append((t0, time.perf_counter() - t0))

            memory.TRIMMER._trim = timed_trim

        async def other_work() -> None:
            spin = args.busy_ms / 1e3
            while True:
                end = time.perf_counter() + spin
                while time.perf_counter() < end:
                    pass
                await asyncio.sleep(spin * (1 - args.load) / args.load)

        busy = loop.create_task(other_work()) if args.busy_ms > 0 else None
        gc.collect()
        gc.freeze()  # as `netwatch run` settles its heap (netwatch/core/heap.py)
        scraper = Scraper(url, args.every, args.plain_every)
        scraper.start()
        rounds_task = loop.create_task(rounds())
        longs = LongCallbacks(args.long_ms / 1e3)
        longs.install()
        scraper.on.set()
        print(f"{args.devices:,} devices, {len(snmp):,} over SNMP; warm-up {args.warmup:.0f} s",
              flush=True)  # fmt: skip
        await asyncio.sleep(args.warmup)
        spans = []
        for window in args.windows.split(","):
            if window == "scraping":
                scraper.on.set()
            else:
                scraper.on.clear()
            t0 = time.perf_counter()
            await asyncio.sleep(args.seconds)
            spans.append((window, t0, time.perf_counter()))
        scraper.stop.set()
        scraper.on.set()
        longs.remove()
        await loop.run_in_executor(None, scraper.join, 70)  # a scrape under way ends first
        rounds_task.cancel()
        if busy is not None:
            busy.cancel()
        await sched.shutdown()
        await runner.cleanup()

    def during_render(at: float) -> bool:
        return any(a <= at <= b for a, b in renders)

    for window, a, b in spans:
        w = [lag for at, lag in lags if a <= at < b]
        if not w:
            continue
        q = statistics.quantiles(w, n=100)
        scraped = [(s, d, p) for s, d, p in scraper.done if a <= s < b]
        in_render = [lag for at, lag in lags if a <= at < b and during_render(at - lag)]
        print(
            f"\n== {window}: {len(w):,} runs, lag p50 {q[49] * 1e3:.1f} ms (bucket "
            f"{bucket(q[49])}), p99 {q[98] * 1e3:.1f} ms (bucket {bucket(q[98])}), max "
            f"{max(w) * 1e3:.1f} ms; share over 25 ms {sum(x > 0.025 for x in w) / len(w):.2%}"
        )
        if scraped:
            plain = [round(d, 3) for _, d, p in scraped if p]
            print(
                f"   scrapes (s): {[round(d, 3) for _, d, _ in scraped]}"
                + (f", of which plain text: {plain}" if plain else "")
            )
        if in_render:
            print(
                f"   runs due during a render: {len(in_render)}, lag p50 "
                f"{statistics.median(in_render) * 1e3:.1f} ms, max {max(in_render) * 1e3:.1f} ms"
            )
        for t0, wall in trims:
            if a <= t0 < b:
                print(f"   malloc_trim(0) in the executor: {wall * 1e3:.1f} ms")
        mine = [x for x in longs.seen if a <= x[0] < b]
        by: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for _, wall, cpu, name in mine:
            by[name].append((wall, cpu))
        print(
            f"   callbacks over {args.long_ms:g} ms: {len(mine)}"
            + (f", longest {max(x[1] for x in mine) * 1e3:.1f} ms" if mine else "")
        )
        waited = [w for t0, w in longs.waits if a <= t0 < b] + [x[1] - x[2] for x in mine]
        waited = [w for w in waited if w > 0.001]
        if waited:
            print(
                f"   callbacks that waited over 1 ms (wall above thread CPU: the GIL, a lock, "
                f"the other core): {len(waited)}, {sum(waited) * 1e3:.1f} ms in all, longest "
                f"{max(waited) * 1e3:.1f} ms"
            )
        ranked = sorted(by.items(), key=lambda kv: -max(w for w, _ in kv[1]))
        for name, xs in ranked[: args.top]:
            print(
                f"     {len(xs):4d} × {name}: max {max(w for w, _ in xs) * 1e3:.1f} ms wall "
                f"({max(c for _, c in xs) * 1e3:.1f} ms CPU), median "
                f"{statistics.median(w for w, _ in xs) * 1e3:.1f} ms"
            )
    counts = Counter(bucket(x) for _, x in lags)
    print(f"\nall runs by bucket: {dict(sorted(counts.items()))}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
