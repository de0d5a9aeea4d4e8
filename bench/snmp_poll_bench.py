"""SNMP device-poll CPU: netwatch's collector vs prometheus-snmp-exporter (if_mib), same snmpd.

A private network namespace (root) holds 12 veth pairs (24 interfaces + lo; `--veths`) and one
net-snmp snmpd on 127.0.0.1; both pollers run inside it and poll that agent with 50 at a time.
CPU is read from each poller's own /proc/<pid>/stat (snmpd's CPU is not counted).

    sudo .venv/bin/python bench/snmp_poll_bench.py [--polls 1000] [--profiles if-mib,generic]
        [--no-peer] [--bulk-varbinds 0,100] [--veths 12] [--ballast 3000000] [--cprofile F]

`--ballast N` keeps N long-lived tracked objects beside the polls (the inventory and state of a
50,000-device run, about 3 M) and settles the heap as `netwatch run` does (netwatch/core/heap.py:
one full collection, then gc.freeze()); `--no-freeze` leaves them in the collector's reach. Each
netwatch line also gives the cyclic collector's time per poll (gc.callbacks) and its passes per
generation.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEER_CONFIG = REPO / "bench" / "peers" / "snmp_exporter_if_mib.yml"  # README.md there
TICK = os.sysconf("SC_CLK_TCK")
SNMPD_PORT, EXPORTER_PORT = 16161, 19116
CONCURRENCY = 50  # --concurrency: polls in flight
SPY, SPY_NATIVE = "", []  # --spy: py-spy output path (and --native)
TARGETS = 1  # --targets
SINK = False  # --sink: each observation also recorded and rendered as `netwatch run` does
RATE = 0.0  # --rate: polls started per second, spaced evenly (0: CONCURRENCY at a time)
RECEIVE_QUEUE = -1  # --receive-queue: bytes asked for the engine's socket (-1: its default)
CENSUS = False  # --census: the loop's thread CPU by callback, and its wake-ups


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class GcClock:
    """Time spent in the cyclic collector, and its passes per generation (gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.passes = [0, 0, 0]
        self.by_gen = [0.0, 0.0, 0.0]
        self._t = 0.0

        self.where: dict[str, float] = {}  # the Python line whose allocation started a pass

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            took = time.perf_counter() - self._t
            self.seconds += took
            self.passes[info["generation"]] += 1
            self.by_gen[info["generation"]] += took
            f = sys._getframe(1)  # the frame that was running when the collector started
            key = f"{f.f_code.co_qualname} ({Path(f.f_code.co_filename).name}:{f.f_lineno})"
            self.where[key] = self.where.get(key, 0.0) + took


class Census:
    """--census: the loop's thread CPU by callback (task coroutine or function), the select()
    calls that slept (a wake-up) and the callback that ran first after each, per poll."""

    def __init__(self) -> None:
        self.stats: dict[str, list[float]] = {}  # key → [calls, cpu, first after a wake-up, cpu]
        self.select = [0, 0.0, 0, 0.0]  # [calls, cpu, of them slept (> 0.5 ms), their cpu]
        self.fresh = False
        self._saved: list[tuple[object, str, object]] = []

    @staticmethod
    def key(handle: asyncio.Handle) -> str:
        cb = handle._callback  # type: ignore[attr-defined]
        owner = getattr(cb, "__self__", None)
        if isinstance(owner, asyncio.Task):
            coro = owner.get_coro()
            return "task " + getattr(coro, "__qualname__", repr(coro))
        func = getattr(cb, "__func__", cb)
        return getattr(func, "__qualname__", type(func).__name__)

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        from asyncio import events

        run, census = events.Handle._run, self

        def timed(handle: asyncio.Handle) -> None:
            t = time.thread_time()
            try:
                run(handle)
            finally:
                dt = time.thread_time() - t
                e = census.stats.setdefault(census.key(handle), [0, 0.0, 0, 0.0])
                e[0] += 1
                e[1] += dt
                if census.fresh:
                    census.fresh = False
                    e[2] += 1
                    e[3] += dt

        selector = loop._selector  # type: ignore[attr-defined]
        select = selector.select

        def timed_select(timeout: float | None = None) -> object:
            t, w = time.thread_time(), time.monotonic()
            try:
                return select(timeout)
            finally:
                dt, slept = time.thread_time() - t, time.monotonic() - w > 0.0005
                self.select[0] += 1
                self.select[1] += dt
                if slept:
                    self.select[2] += 1
                    self.select[3] += dt
                    self.fresh = True

        self._saved = [(events.Handle, "_run", run), (selector, "select", select)]
        events.Handle._run = timed  # type: ignore[method-assign]
        selector.select = timed_select

    def uninstall(self) -> None:
        for owner, name, value in self._saved:
            setattr(owner, name, value)

    def report(self, n: int) -> dict[str, object]:
        rows = sorted(self.stats.items(), key=lambda kv: -kv[1][1])
        s = self.select
        return {
            "select": {"per_poll": round(s[0] / n, 2), "us_per_poll": round(s[1] / n * 1e6, 1),
                       "wakeups_per_poll": round(s[2] / n, 2),
                       "wakeup_us_per_poll": round(s[3] / n * 1e6, 1)},
            "callbacks": [(k, round(e[0] / n, 2), round(e[1] / n * 1e6, 1), round(e[2] / n, 2),
                           round(e[3] / n * 1e6, 1)) for k, e in rows[:14]],
            "callbacks_us_per_poll": round(sum(e[1] for e in self.stats.values()) / n * 1e6, 1),
        }  # fmt: skip


def make_ballast(n: int, freeze: bool) -> list[object]:
    """n tracked long-lived objects (small lists in dicts, as per-device state is)."""
    ballast: list[object] = [{"k": [i], "v": [i, str(i)]} for i in range(n // 3)]
    gc.collect()
    if freeze:
        gc.freeze()
    return ballast


async def netwatch_polls(
    n: int, profile: str, bulk_varbinds: int = 100, interfaces: int = 25, cprofile: str = ""
) -> dict[str, float]:
    """n polls of the agent through `profile`, 50 at a time: CPU, PDUs and varbinds per poll."""
    sys.path.insert(0, str(REPO))
    from netwatch.collectors.snmp.collector import probe_target
    from netwatch.collectors.snmp.engine import SnmpEngine
    from netwatch.collectors.snmp.types import Target

    # --targets k: the polls go round k agent addresses (127.0.0.1..k, one snmpd on all of
    # them), as netwatch run's devices each have an address of their own; 1: one agent, whose
    # 4 requests in flight (SnmpEngine.max_in_flight) make the other polls wait their turn.
    targets = [
        Target(f"127.0.0.{1 + i}", SNMPD_PORT, community="public", timeout=2.0, retries=1,
               bulk_varbinds=bulk_varbinds)
        for i in range(TARGETS)
    ]  # fmt: skip
    target = targets[0]
    turn = 0
    sem = asyncio.Semaphore(CONCURRENCY)
    errors = 0
    from netwatch.collectors.snmp.udp import kernel_drops

    engine_args = {} if RECEIVE_QUEUE < 0 else {"receive_queue": RECEIVE_QUEUE}
    async with SnmpEngine(**engine_args) as engine:
        first = await probe_target("d", target, engine, None, profile)
        assert first.error is None, first.message
        assert len(first.interfaces) == interfaces, len(first.interfaces)
        received0 = engine.stats.received
        await probe_target("d", target, engine, None, profile)
        replies = engine.stats.received - received0

        for t in targets[1:]:  # each agent address's first poll (detection) before timing
            await probe_target("d", t, engine, None, profile)

        from netwatch.collectors.snmp import samples, state
        from netwatch.collectors.snmp.limits import limit_observation
        from netwatch.core.model import Device, Role
        from netwatch.core.samples import View

        devices = [Device(f"d{i}", Role.ROUTER, t.address, "35.10.01", "35.10.01.2001",
                          snmp="bench") for i, t in enumerate(targets)]  # fmt: skip
        states = [state.SnmpDeviceState() for _ in targets]

        async def one() -> None:
            nonlocal errors, turn
            async with sem:
                turn += 1
                k = turn % TARGETS
                obs = await probe_target("d", targets[k], engine, None, profile)
                errors += bool(obs.error)
                if SINK:  # the collector's part of the run's sink: probe()'s limits, the
                    # device's SNMP state, and its /metrics samples rendered once
                    limit_observation(obs, 5000, 256)
                    state.record(states[k], obs)
                    for _ in samples.samples(devices[k], states[k], View.STATE):
                        pass

        sent0 = engine.stats.sent
        timeouts0 = engine.stats.timeouts
        drops0 = sum(kernel_drops(t) for t in engine._transports.values())
        clock = GcClock()
        gc.callbacks.append(clock)
        prof = spy = None
        if SPY:  # py-spy as run_bench.py records netwatch run (50 Hz, non-blocking, raw)
            spy = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(os.getpid()),
                 "--rate", "50", "--nonblocking", "--format", "raw", *SPY_NATIVE,
                 "--output", f"{SPY}.{profile}"], stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)  # fmt: skip
            await asyncio.sleep(1.0)  # py-spy attached
        if cprofile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        census = Census() if CENSUS else None
        if census is not None:
            census.install(asyncio.get_running_loop())
        t0, c0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        if RATE > 0:  # as `netwatch run` at a small inventory: polls one by one, spaced
            loop = asyncio.get_running_loop()
            start, started = loop.time(), []
            for i in range(n):
                await asyncio.sleep(max(0.0, start + i / RATE - loop.time()))
                started.append(asyncio.ensure_future(one()))
            await asyncio.gather(*started)
        else:
            await asyncio.gather(*(one() for _ in range(n)))
        c1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        if census is not None:
            census.uninstall()
        if prof is not None:
            prof.disable()
            prof.dump_stats(f"{cprofile}.{profile}")
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it has
            spy.wait(timeout=30)
        gc.callbacks.remove(clock)
        pdus = engine.stats.sent - sent0
        drops = sum(kernel_drops(t) for t in engine._transports.values()) - drops0
        timeouts = engine.stats.timeouts - timeouts0
        queue = getattr(engine, "receive_queue_bytes", None)
    cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    return {"cpu_ms_per_poll": cpu / n * 1000, "wall_s": t1 - t0, "errors": errors,
            "pdus_per_poll": pdus / n, "replies_per_poll": replies,
            "socket_drops": drops, "timeouts": timeouts, "receive_queue": queue,
            "gc_us_per_poll": clock.seconds / n * 1e6, "gc_passes": clock.passes,
            "gc_us_per_poll_by_gen": [round(t / n * 1e6, 1) for t in clock.by_gen],
            "gc_where": sorted(((round(t / clock.seconds * 100, 1), k)
                                for k, t in clock.where.items()), reverse=True)[:5],
            **({"census": census.report(n)} if census is not None else {})}  # fmt: skip


def exporter_polls(n: int) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="nw-bench-exp-"))
    proc = subprocess.Popen(
        ["prometheus-snmp-exporter", f"--config.file={PEER_CONFIG}",
         f"--web.listen-address=127.0.0.1:{EXPORTER_PORT}"],
        stdout=subprocess.DEVNULL, stderr=(work / "log").open("w"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{EXPORTER_PORT}/snmp?module=if_mib&target=127.0.0.1:{SNMPD_PORT}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                body = urllib.request.urlopen(url, timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert "ifHCInOctets" in body

        async def run() -> None:
            loop = asyncio.get_running_loop()
            sem = asyncio.Semaphore(CONCURRENCY)

            async def one() -> None:
                async with sem:
                    await loop.run_in_executor(None, lambda: urllib.request.urlopen(url).read())

            await asyncio.gather(*(one() for _ in range(n)))

        c0, t0 = cpu_seconds(proc.pid), time.perf_counter()
        from concurrent.futures import ThreadPoolExecutor

        loop = asyncio.new_event_loop()
        loop.set_default_executor(ThreadPoolExecutor(CONCURRENCY))
        loop.run_until_complete(run())
        loop.close()
        c1, t1 = cpu_seconds(proc.pid), time.perf_counter()
        return {"cpu_ms_per_poll": (c1 - c0) / n * 1000, "wall_s": t1 - t0}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def inner(a: argparse.Namespace) -> None:
    """Runs inside the namespace: the pollers, one after the other, then prints JSON."""
    n, veths = a.polls, a.veths
    profiles = [p for p in a.profiles.split(",") if p]
    budgets = [int(b) for b in a.bulk_varbinds.split(",")]
    keep = make_ballast(a.ballast, not a.no_freeze) if a.ballast else []
    results = {}
    for _ in range(a.rounds):
        for p in profiles:
            for b in budgets:
                name = f"netwatch_{p}" + (f" bulk_varbinds={b}" if len(budgets) > 1 else "")
                got = asyncio.run(netwatch_polls(n, p, b, 1 + 2 * veths, a.cprofile))
                if name in results:  # rounds: the cheapest of them (least disturbed)
                    got = min(got, results[name], key=lambda r: r["cpu_ms_per_poll"])
                results[name] = got
    del keep
    if not a.no_peer:
        results["snmp_exporter_if_mib"] = exporter_polls(n)
    print(json.dumps(results))


def outer(a: argparse.Namespace) -> None:
    n, veths = a.polls, a.veths
    ns = f"nw-bench-snmp-{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="nw-bench-snmpd-"))
    snmpd = None
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        for i in range(veths):
            sh("ip", "-n", ns, "link", "add", f"va{i}", "type", "veth", "peer", "name", f"vb{i}")
            sh("ip", "-n", ns, "link", "set", f"va{i}", "up")
            sh("ip", "-n", ns, "link", "set", f"vb{i}", "up")
        (work / "snmpd.conf").write_text("rocommunity public 127.0.0.0/8\n")
        snmpd = subprocess.Popen(
            ["ip", "netns", "exec", ns, "snmpd", "-f", "-Lf", str(work / "log"), "-C", "-c",
             str(work / "snmpd.conf"), "-m", "",
             f"udp:{'0.0.0.0' if a.targets > 1 else '127.0.0.1'}:{SNMPD_PORT}"],
            env={**os.environ, "SNMP_PERSISTENT_DIR": str(work / "p")},
        )  # fmt: skip
        probe = ["ip", "netns", "exec", ns, "snmpget", "-v2c", "-c", "public", "-t", "0.2",
                 "-r", "0", "-m", "", f"127.0.0.1:{SNMPD_PORT}", "1.3.6.1.2.1.1.3.0"]  # fmt: skip
        deadline = time.monotonic() + 10
        while subprocess.run(probe, capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("snmpd did not start")
            time.sleep(0.05)
        out = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, __file__, "--inner", *sys.argv[1:]],
            check=True, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        res = json.loads(out.stdout.strip().splitlines()[-1])
        peer_ms = res.get("snmp_exporter_if_mib", {}).get("cpu_ms_per_poll")
        pace = f"{a.rate:g} a second" if a.rate > 0 else f"{CONCURRENCY} at a time"
        pace += ", each recorded and rendered (--sink)" if a.sink else ""
        print(f"{n} device-polls of snmpd with {1 + 2 * veths} interfaces, {pace}"
              f", {a.targets} agent address(es), ballast {a.ballast}"
              f" ({'not ' if a.no_freeze else ''}frozen)")  # fmt: skip
        for name, r in res.items():
            extra = f", {r['pdus_per_poll']:.1f} PDUs/poll" if "pdus_per_poll" in r else ""
            if "socket_drops" in r:
                extra += (f", socket drops {r['socket_drops']}, timeouts {r['timeouts']}, "
                          f"SO_RCVBUF {r['receive_queue']}")  # fmt: skip
            if "gc_us_per_poll" in r:
                extra += (f", GC {r['gc_us_per_poll']:.0f} µs/poll (passes {r['gc_passes']}, "
                          f"µs/poll by generation {r['gc_us_per_poll_by_gen']}; started in "
                          f"{r['gc_where']} (% of GC time))")  # fmt: skip
            ratio = f" ({r['cpu_ms_per_poll'] / peer_ms:4.2f}× snmp_exporter)" if peer_ms else ""
            print(f"  {name:<38} {r['cpu_ms_per_poll']:6.2f} CPU ms/poll{ratio}{extra}, "
                  f"wall {r['wall_s']:.1f} s, errors {r.get('errors', 0)}")  # fmt: skip
            if "census" in r:  # --census
                c = r["census"]
                print(f"    loop census (thread CPU, per poll): select {c['select']}, "
                      f"callbacks {c['callbacks_us_per_poll']} µs")  # fmt: skip
                print("    callback: calls, µs; of them first after a wake-up: calls, µs")
                for k, calls, us, first, first_us in c["callbacks"]:
                    print(f"      {k:<48} {calls:6.2f} {us:8.1f}   {first:6.2f} {first_us:8.1f}")
    finally:
        if snmpd is not None:
            snmpd.send_signal(signal.SIGTERM)
            snmpd.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--polls", type=int, default=1000)
    ap.add_argument(
        "--profiles",
        default="if-mib,generic",
        help="netwatch profiles to poll with, comma-separated (e.g. linux)",
    )
    ap.add_argument("--no-peer", action="store_true", help="skip snmp_exporter")
    ap.add_argument(
        "--bulk-varbinds",
        default="100",
        help="snmp.bulk_varbinds values to poll with, comma-separated "
        "(0: one column per walk, as before 2026-12)",
    )
    ap.add_argument("--veths", type=int, default=12, help="veth pairs in the namespace")
    ap.add_argument("--ballast", type=int, default=0, help="long-lived tracked objects beside")
    ap.add_argument("--no-freeze", action="store_true", help="do not gc.freeze() the ballast")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each poller (cheapest kept)")
    ap.add_argument("--cprofile", default="", help="write cProfile stats to this path.<profile>")
    ap.add_argument("--spy", default="", help="py-spy raw stacks to path.<profile>")
    ap.add_argument("--spy-native", action="store_true", help="py-spy --native")
    ap.add_argument("--targets", type=int, default=1, help="agent addresses 127.0.0.1..N")
    ap.add_argument("--concurrency", type=int, default=50, help="polls in flight")
    ap.add_argument("--receive-queue", type=int, default=-1, help="SO_RCVBUF asked (-1: default)")
    ap.add_argument(
        "--sink",
        action="store_true",
        help="also record each observation into a device's SNMP state and render its "
        "/metrics samples once (the collector's share of what netwatch run does per poll)",
    )
    ap.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="start this many polls a second, evenly spaced, instead of --concurrency at a "
        "time (a small inventory's polls: each one alone on an idle loop)",
    )
    ap.add_argument(
        "--census",
        action="store_true",
        help="time every loop callback and select() in thread CPU during the polls (adds its "
        "own overhead: compare census runs only with census runs)",
    )
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    TARGETS = max(1, min(a.targets, 250))
    CONCURRENCY, RECEIVE_QUEUE, RATE, SINK = a.concurrency, a.receive_queue, a.rate, a.sink
    SPY, SPY_NATIVE = a.spy, ["--native"] if a.spy_native else []
    CENSUS = a.census
    (inner if a.inner else outer)(a)
