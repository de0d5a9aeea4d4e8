"""RSS high-water of a reload at scale, in one process (issue 10: < 500 MiB at 50,000 devices).

Builds what `netwatch run` holds (inventory from the loader's child, state, collectors opened,
scheduler jobs added, the echo stream following them at one echo per device a day, the alert
engine), feeds one ping
round per device (with --scrape, renders /metrics twice), then runs `Runtime._reload` on the
same file, as POST /-/reload does (with --scrape, then /metrics again; the runtime is built
without the loader's digest, so the first reload receives and decodes the whole answer, later
ones get the child's "unchanged"), while a thread samples
VmRSS every 2 ms. Prints RSS before, the peak during the reload and where in
the reload it came (the step running then), and VmHWM. With --trace, tracemalloc's peak and
its top allocation sites instead (slower; RSS then includes tracemalloc's own tables).

    .venv/bin/python bench/synth_inventory.py /tmp/inv50k.yaml --max-devices 50000
    .venv/bin/python bench/reload_memory.py /tmp/inv50k.yaml [--reloads 2] [--trace]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

# NETWATCH_TREE: measure another checkout's code with this script (before/after in one sitting).
sys.path.insert(0, os.environ.get("NETWATCH_TREE") or str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web

from netwatch.alerting.service import AlertService
from netwatch.cluster.member import Member
from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.config.isolated import load
from netwatch.core.plugins import Context
from netwatch.core.runtime import Runtime, collector_plugins
from netwatch.core.scheduler import Scheduler
from netwatch.exporters.prometheus import Exposition, Format
from netwatch.web.metrics import MetricsEndpoint

TREE = Path(sys.path[0]).resolve()


def rss() -> tuple[float, float]:
    """(VmRSS, VmHWM) in MiB (memory_bench.rss; not imported: it puts this tree first on
    sys.path, which would measure this checkout's code under NETWATCH_TREE)."""
    vals = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            key, value = line.split(":", 1)
            vals[key] = int(value.split()[0]) / 1024
    return vals["VmRSS"], vals["VmHWM"]


class Sampler:
    """VmRSS every 2 ms in a thread (reading /proc releases the GIL): the peak and its step."""

    def __init__(self) -> None:
        self._step = "idle"
        self.peak = (0.0, "")
        self.times: dict[str, float] = {}  # seconds spent in each step
        self._since = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def step(self) -> str:
        return self._step

    @step.setter
    def step(self, name: str) -> None:
        now = time.perf_counter()
        self.times[self._step] = self.times.get(self._step, 0.0) + now - self._since
        self._step, self._since = name, now

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            now = rss()[0]
            if now > self.peak[0]:
                self.peak = (now, self.step)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def instrument(runtime: Runtime, sampler: Sampler) -> None:
    """Name the reload's steps for the sampler (wrapping the parts' own methods)."""
    import netwatch.config.isolated as isolated

    assert Path(isolated.__file__).is_relative_to(TREE), f"{isolated.__file__} not in {TREE}"

    def named(name: str, fn):  # type: ignore[no-untyped-def]
        if asyncio.iscoroutinefunction(fn):

            async def wrapped_async(*a, **kw):  # type: ignore[no-untyped-def]
                sampler.step = name
                try:
                    return await fn(*a, **kw)
                finally:
                    sampler.step = f"after {name}"

            return wrapped_async

        def wrapped(*a, **kw):  # type: ignore[no-untyped-def]
            sampler.step = name
            try:
                return fn(*a, **kw)
            finally:
                sampler.step = f"after {name}"

        return wrapped

    for fn in ("_decode", "_receive"):  # the whole pickle (before), the stream (since)
        if hasattr(isolated, fn):
            setattr(isolated, fn, named("decode (unpickle)", getattr(isolated, fn)))
    for fn in ("load_async", "load_changed"):  # the reload calls the latter since loaddigest
        if hasattr(isolated, fn):
            setattr(isolated, fn, named(f"{fn} (child)", getattr(isolated, fn)))
    state = runtime.state
    state.replace_inventory = named("state.replace_inventory", state.replace_inventory)  # type: ignore[method-assign]
    assert runtime.scheduler is not None and runtime.alerts is not None
    sch = runtime.scheduler
    sch.sync_async = named("scheduler.sync_async", sch.sync_async)  # type: ignore[method-assign]
    al = runtime.alerts
    al.reload = named("alerts.reload", al.reload)  # type: ignore[method-assign]


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("--reloads", type=int, default=2)
    ap.add_argument("--trace", action="store_true", help="tracemalloc peak and top sites")
    ap.add_argument("--scrape", action="store_true", help="/metrics twice before, once after")
    ap.add_argument(
        "--move",
        action="store_true",
        help="before each reload, a comment line at the top of the file: every device and "
        "village moves one line down (an operator's edit above them), nothing else changes",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # A copy with the alert database in a scratch folder (the reloads read the same file).
        text = args.config.read_text()
        if not text.startswith("settings:\n") and "\nsettings:\n" not in text:
            ap.error(f"{args.config}: expected a top-level settings: block (synth_inventory.py)")
        extra = f"  alerting: {{db_path: {tmp}/alerts.sqlite3, traceroute: false}}\n"
        text = text.replace("settings:\n", "settings:\n" + extra, 1)
        # The echo stream starts with the collectors: one echo per device a day (phases
        # spread: well under one a second) keeps its per-device state without loading the
        # shared machine or other raw sockets on its loopback with 8,000 echoes a second.
        text = re.sub(r"(?m)^(  ping: \{interval: )[^,}]+", r"\g<1>1d", text, count=1)
        if "  ping: {interval: 1d" not in text:
            ap.error(f"{args.config}: expected settings.ping as written by synth_inventory.py")
        config = Path(tmp) / args.config.name
        config.write_text(text)
        inventory = load(config, Member())
        n = len(inventory.devices)
        runtime = Runtime(config, inventory)
        ctx = Context(lambda: runtime.inventory)
        runtime.collectors = [await p.start(ctx) for p in collector_plugins()]
        sch = Scheduler(runtime.collectors, runtime.state.record, max_concurrency=2000)
        runtime.scheduler = sch
        runtime.scheduler.sync(inventory)  # jobs added, not started: no packet leaves
        runtime.alerts = AlertService.create(inventory, runtime.state, None, tracer=False)
        t = time.time()
        for i, (name, dev) in enumerate(inventory.devices.items()):
            rtts = [0.0004 + (i % 97) * 1e-6 + k * 1e-5 for k in range(5)]
            runtime.state.record(
                PingObservation(name, t + i * 1e-4, PingResult(dev.address, 5, 5, rtts), 1.0)
            )
        runtime.alerts.engine.evaluate()
        endpoint = MetricsEndpoint(Exposition(runtime.state, runtime.metric_sources()))

        async def scrape() -> int:
            # As Prometheus asks: OpenMetrics, gzip (the run bench scrapes every 15 s).
            body = await endpoint.body(Format.OPENMETRICS, True, "application/openmetrics-text")
            return len(body)

        if args.scrape:
            for _ in range(2):
                await scrape()
        del inventory
        gc.collect()
        print(f"{n} devices, {len(runtime.inventory.villages)} villages")
        before, hwm = rss()
        print(f"running: RSS {before:.1f} MiB, high-water so far {hwm:.1f} MiB")
        for r in range(args.reloads):
            sampler = Sampler()
            instrument(runtime, sampler)
            if args.trace:
                tracemalloc.start(8)
            if args.move:
                config.write_text(f"# edit {r + 1}\n" + config.read_text())
            t0 = time.perf_counter()
            with sampler:
                result = await runtime._reload()
                if args.scrape:
                    sampler.step = "scrape after the reload"
                    await scrape()
                    sampler.step = "idle"
            wall = time.perf_counter() - t0
            assert result.ok, result.errors
            if args.trace:
                cur, peak = tracemalloc.get_traced_memory()
                snap = tracemalloc.take_snapshot()
                tracemalloc.stop()
                print(f"  tracemalloc: now {cur / 2**20:.1f} MiB, peak {peak / 2**20:.1f} MiB")
                for stat in snap.statistics("lineno")[:12]:
                    fr = stat.traceback[0]
                    print(f"    {stat.size / 2**20:7.1f} MiB {Path(fr.filename).name}:{fr.lineno}")
                del snap
            gc.collect()
            after, hwm = rss()
            peak, step = sampler.peak
            print(f"reload {r + 1}: {wall:.1f} s; RSS before {before:.1f}, peak {peak:.1f} "
                  f"(+{peak - before:.1f} MiB, during {step}), after {after:.1f}, "
                  f"VmHWM {hwm:.1f} MiB")  # fmt: skip
            steps = ", ".join(f"{k} {v:.1f} s" for k, v in sampler.times.items() if v >= 0.05)
            print(f"  steps: {steps}; jobs added/removed/changed {result.added}/"
                  f"{result.removed}/{result.changed}")  # fmt: skip
            before = after
        if args.scrape:
            # run_bench.py reads VmHWM right after one plain-text, uncompressed scrape: over
            # HTTP here too (the handler decides how the body is held), read in 64 KiB pieces.
            app = web.Application()
            app.router.add_get("/metrics", endpoint.handle)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            sampler = Sampler()
            size = 0
            with sampler:
                sampler.step = "plain-text scrape"
                plain = {"Accept": "text/plain", "Accept-Encoding": "identity"}
                async with (
                    aiohttp.ClientSession(
                        auto_decompress=False, skip_auto_headers=("Accept-Encoding",)
                    ) as session,
                    session.get(f"http://127.0.0.1:{port}/metrics", headers=plain) as resp,
                ):
                    assert "Content-Encoding" not in resp.headers, resp.headers
                    async for piece in resp.content.iter_chunked(1 << 16):
                        size += len(piece)
            await runner.cleanup()
            gc.collect()
            peak, step = sampler.peak
            hwm = rss()[1]
            print(f"plain-text scrape ({size / 2**20:.1f} MiB body): RSS before {before:.1f}, "
                  f"peak {peak:.1f} (+{peak - before:.1f} MiB), VmHWM {hwm:.1f} MiB")  # fmt: skip
        await runtime.alerts.stop()
        for c in runtime.collectors:
            await c.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
