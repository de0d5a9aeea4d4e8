"""RSS high-water of a reload at scale, in one process (issue 10: < 500 MiB at 50,000 devices).

Builds what `netwatch run` holds (inventory from the loader's child, state, collectors opened,
scheduler jobs added but not started: no packet leaves, the alert engine), feeds one ping
round per device, then runs `Runtime._reload` on the same file, as POST /-/reload does, while
a thread samples VmRSS every 2 ms. Prints RSS before, the peak during the reload and where in
the reload it came (the step running then), and VmHWM. With --trace, tracemalloc's peak and
its top allocation sites instead (slower; RSS then includes tracemalloc's own tables).

    .venv/bin/python bench/synth_inventory.py /tmp/inv50k.yaml --max-devices 50000
    .venv/bin/python bench/reload_memory.py /tmp/inv50k.yaml [--reloads 2] [--trace]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.memory_bench import rss
from netwatch.alerting.service import AlertService
from netwatch.cluster.member import Member
from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.config.isolated import load
from netwatch.core.plugins import Context
from netwatch.core.runtime import Runtime, collector_plugins
from netwatch.core.scheduler import Scheduler


class Sampler:
    """VmRSS every 2 ms in a thread (reading /proc releases the GIL): the peak and its step."""

    def __init__(self) -> None:
        self.step = "idle"
        self.peak = (0.0, "")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

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

    isolated._decode = named("decode (unpickle)", isolated._decode)
    isolated.load_async = named("load_async (child)", isolated.load_async)
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
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # A copy with the alert database in a scratch folder (the reloads read the same file).
        text = args.config.read_text()
        if not text.startswith("settings:\n") and "\nsettings:\n" not in text:
            ap.error(f"{args.config}: expected a top-level settings: block (synth_inventory.py)")
        extra = f"  alerting: {{db_path: {tmp}/alerts.sqlite3, traceroute: false}}\n"
        text = text.replace("settings:\n", "settings:\n" + extra, 1)
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
            t0 = time.perf_counter()
            with sampler:
                result = await runtime._reload()
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
            before = after
        await runtime.alerts.stop()
        for c in runtime.collectors:
            await c.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
