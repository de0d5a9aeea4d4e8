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
import inspect
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
from edits import edit_one_line

from netwatch.alerting.service import AlertService
from netwatch.cluster.member import Member
from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.config.isolated import load_digested
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

    def __init__(self, rss: bool = True) -> None:
        self.rss = rss
        self._step = "idle"
        self.peak = (0.0, "")
        self.times: dict[str, float] = {}  # seconds spent in each step
        self.cpu: dict[str, float] = {}  # the process's CPU seconds in each step
        self._since = time.perf_counter()
        self._cpu_since = time.process_time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def step(self) -> str:
        return self._step

    @step.setter
    def step(self, name: str) -> None:
        now, cpu = time.perf_counter(), time.process_time()
        self.times[self._step] = self.times.get(self._step, 0.0) + now - self._since
        self.cpu[self._step] = self.cpu.get(self._step, 0.0) + cpu - self._cpu_since
        self._step, self._since, self._cpu_since = name, now, cpu

    def _run(self) -> None:
        if not self.rss:  # --cpu: no sampling thread (its reads of /proc would count)
            return
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
        if inspect.isgeneratorfunction(fn):  # a part adopting in pieces (core/turns.py)

            def wrapped_steps(*a, **kw):  # type: ignore[no-untyped-def]
                sampler.step = name
                try:
                    return (yield from fn(*a, **kw))
                finally:
                    sampler.step = f"after {name}"

            return wrapped_steps
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

    # The whole pickle (before), the stream (since), on the loop in pieces (reloadstall).
    for fn in ("_decode", "_receive", "_decode_steps"):
        if hasattr(isolated, fn):
            setattr(isolated, fn, named("decode (unpickle)", getattr(isolated, fn)))
    for fn in ("load_async", "load_changed"):  # the reload calls the latter since loaddigest
        if hasattr(isolated, fn):
            setattr(isolated, fn, named(f"{fn} (child)", getattr(isolated, fn)))
    state = runtime.state
    state.replace_inventory = named("state.replace_inventory", state.replace_inventory)  # type: ignore[method-assign]
    if hasattr(state, "replace_steps"):  # the runtime's, since reloadstall
        state.replace_steps = named("state.replace_inventory", state.replace_steps)  # type: ignore[method-assign]
    assert runtime.scheduler is not None and runtime.alerts is not None
    sch = runtime.scheduler
    sch.sync_async = named("scheduler.sync_async", sch.sync_async)  # type: ignore[method-assign]
    al = runtime.alerts
    al.reload = named("alerts.reload", al.reload)  # type: ignore[method-assign]
    if hasattr(al, "reload_steps"):
        al.reload_steps = named("alerts.reload", al.reload_steps)  # type: ignore[method-assign]


class Lag:
    """The event loop's lateness: a 10 ms timer's delay past its due time, while it runs."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + 0.01
            await asyncio.sleep(0.01)
            self.late.append(loop.time() - due)

    def __enter__(self) -> Lag:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()

    def summary(self) -> str:
        late = sorted(self.late) or [0.0]
        p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
        return f"loop lateness p99 {p99 * 1e3:.1f} ms, max {late[-1] * 1e3:.1f} ms"


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
    ap.add_argument(
        "--edit",
        action="store_true",
        help="before each reload, change the last device's address (a one-line edit)",
    )
    ap.add_argument(
        "--cpu",
        action="store_true",
        help="the process's CPU seconds by step and the loop's lateness (no RSS sampling thread)",
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
        loaded = load_digested(config, Member())
        inventory = loaded.inventory
        assert inventory is not None
        n = len(inventory.devices)
        # --cpu: with the child's digest, as `netwatch run` holds it (an unchanged file's
        # reload is then the child's "unchanged" from the first reload on).
        runtime = Runtime(config, inventory, digest=loaded.digest if args.cpu else None)
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
            sampler = Sampler(rss=not args.cpu)
            instrument(runtime, sampler)
            if args.trace:
                tracemalloc.start(8)
            if args.move:
                config.write_text(f"# edit {r + 1}\n" + config.read_text())
            if args.edit:
                edit_one_line(config, r)
            t0, cpu0 = time.perf_counter(), time.process_time()
            with sampler, Lag() as lag:
                result = await runtime._reload()
                if args.scrape:
                    sampler.step = "scrape after the reload"
                    await scrape()
                    sampler.step = "idle"
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
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
            if args.cpu:
                spent = ", ".join(f"{k} {v:.2f}" for k, v in sampler.cpu.items() if v >= 0.01)
                print(f"  CPU of this process {cpu:.2f} s ({spent}); {lag.summary()}")
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
