"""Where does the soak's RSS step go? `netwatch run` at 10,000 devices under tracemalloc.

The soak (bench/soak.py) saw RSS step ~15 MiB over its first scrape storm and reload storm,
then creep slowly. This runs the same 10,000-device config (no lab, no faults but those two)
inside a namespace, with netwatch started through a wrapper that on SIGUSR1 writes a
tracemalloc snapshot, gc counts by type, pymalloc's arena figures and glibc's mallinfo2,
and on SIGUSR2 calls malloc_trim(0). Phases: warm-up, idle, reload storm, scrape storm,
reload storm, idle, trim; each ends with a snapshot; the top traceback growths between
phases are printed, so a leak (Python objects that grow per event) is told apart from the
allocator keeping its high-water mark (traced bytes back down, RSS not).

    flock /work/bench.lock .venv/bin/python bench/soak_memprobe.py

Needs root (a namespace). Every address is 127.0.0.0/8 in the namespace made here.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import ctypes.util
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
import types
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


# --- the child: netwatch with the probe's signal handlers ---------------------------------------


class _Mallinfo2(ctypes.Structure):
    _fields_ = [
        (n, ctypes.c_size_t)
        for n in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _pymalloc_arenas() -> dict[str, int]:
    """Arena counts from sys._debugmallocstats (it writes to the C stderr)."""
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            sys._debugmallocstats()
            _LIBC.fflush(None)  # C stderr is buffered when it is not a terminal
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    out = {}
    for line in text.splitlines():
        for key in (
            "arenas allocated current",
            "arenas highwater mark",
            "bytes in allocated blocks",
            "bytes in available blocks",
        ):
            if line.startswith("# " + key):
                out[key] = int(line.split("=")[1].replace(",", "").strip())
    return out


def _describe(obj: object) -> str:
    if isinstance(obj, dict):
        for ref in gc.get_referrers(obj):
            if getattr(ref, "__dict__", None) is obj:
                return f"{type(ref).__module__}.{type(ref).__qualname__}.__dict__"
        return f"dict keys {list(obj)[:6]}"
    if type(obj).__name__ == "cell":
        return "cell"
    if type(obj).__name__ == "function":
        return f"function {obj.__qualname__}"  # type: ignore[attr-defined]
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _holders(label: str, objs: list[object]) -> dict[str, list[list[str]]]:
    """For each of objs, what refers to it, two levels up (frames and objs itself left out)."""
    out: dict[str, list[list[str]]] = {}
    for obj in objs:
        chains = []
        for ref in gc.get_referrers(obj):
            if ref is objs or isinstance(ref, types.FrameType):
                continue
            up = [
                _describe(r)
                for r in gc.get_referrers(ref)
                if r is not objs and not isinstance(r, (types.FrameType, list))
            ][:4]
            chains.append([_describe(ref), *up])
        out[f"{label} {hex(id(obj))}"] = chains
    return out


def _inventory_holders() -> dict[str, list[list[str]]]:
    """Every live Inventory, and every copy of one device (one per inventory whose devices are
    still alive), with what holds it."""
    invs = [o for o in gc.get_objects() if type(o).__name__ == "Inventory"]
    out = _holders("Inventory", invs)
    copies = [o for o in gc.get_objects() if type(o).__name__ == "Device"]
    out.update(_holders("Device r-1-1", [d for d in copies if getattr(d, "name", "") == "r-1-1"]))
    return out


def child(out_dir: Path, argv: list[str]) -> int:
    libc = _LIBC
    libc.mallinfo2.restype = _Mallinfo2
    trace = os.environ.get("NETWATCH_MEMPROBE_TRACE") == "1"
    if trace:  # slows netwatch several times at 10,000 devices: use fewer with it
        tracemalloc.start(8)
    count = 0

    def snap(signum: int, frame: object) -> None:
        nonlocal count
        count += 1
        gc.collect()
        if trace:
            tracemalloc.take_snapshot().dump(str(out_dir / f"snap{count}.pickle"))
        counts = collections.Counter(type(o).__name__ for o in gc.get_objects())
        holders = _inventory_holders() if os.environ.get("NETWATCH_MEMPROBE_REFS") == "1" else {}
        mi = libc.mallinfo2()
        traced, peak = tracemalloc.get_traced_memory()
        (out_dir / f"snap{count}.json").write_text(
            json.dumps(
                {
                    "rss": _rss(),
                    "traced": traced,
                    "traced_peak": peak,
                    "gc_objects": sum(counts.values()),
                    "inventories": holders,
                    "types": dict(counts.most_common(40)),
                    "pymalloc": _pymalloc_arenas(),
                    "mallinfo2": {n: getattr(mi, n) for n, _ in _Mallinfo2._fields_},
                }
            )
        )
        if trace:
            tracemalloc.reset_peak()

    def trim(signum: int, frame: object) -> None:
        before, t = _rss(), time.perf_counter()
        libc.malloc_trim(0)
        took = time.perf_counter() - t
        (out_dir / "trim.json").write_text(
            json.dumps({"before": before, "after": _rss(), "seconds": round(took, 4)})
        )

    if os.environ.get("NETWATCH_MEMPROBE_NO_TRIM") == "1":  # the baseline: no automatic trims
        from netwatch.core import memory

        memory.TRIMMER._trim = None
    signal.signal(signal.SIGUSR1, snap)
    signal.signal(signal.SIGUSR2, trim)
    from netwatch.cli import main as netwatch_main

    sys.argv = ["netwatch", *argv]
    return netwatch_main() or 0


# --- the driver -------------------------------------------------------------------------------


_types_prev: dict[str, int] = {}


def _report(
    out: Path, n: int, label: str, prev: tracemalloc.Snapshot | None
) -> tracemalloc.Snapshot:
    info = json.loads((out / f"snap{n}.json").read_text())
    pickle = out / f"snap{n}.pickle"
    snap = tracemalloc.Snapshot.load(str(pickle)) if pickle.exists() else None
    mi = info["mallinfo2"]
    print(
        f"\n=== {n} {label}: RSS {info['rss'] / 2**20:.1f} MiB, traced {info['traced'] / 2**20:.1f}"
        f" MiB (peak since last {info['traced_peak'] / 2**20:.1f}), gc objects"
        f" {info['gc_objects']:,}; glibc heap {mi['arena'] / 2**20:.1f} MiB (in use"
        f" {mi['uordblks'] / 2**20:.1f}, free {mi['fordblks'] / 2**20:.1f}), mmapped"
        f" {mi['hblkhd'] / 2**20:.1f}; pymalloc {info['pymalloc']}",
        flush=True,
    )
    for inv, chains in info.get("inventories", {}).items():
        print(f"  {inv}:", flush=True)
        for chain in chains:
            print("      " + " <- ".join(chain), flush=True)
    counts = info["types"]
    if _types_prev:
        grew = {k: v - _types_prev.get(k, 0) for k, v in counts.items()}
        top = sorted(grew.items(), key=lambda kv: -abs(kv[1]))[:10]
        print("  gc types changed:", ", ".join(f"{k} {v:+d}" for k, v in top), flush=True)
    _types_prev.clear()
    _types_prev.update(counts)
    if prev is not None and snap is not None:
        filters = [tracemalloc.Filter(False, tracemalloc.__file__)]
        diffs = snap.filter_traces(filters).compare_to(prev.filter_traces(filters), "traceback")
        for d in diffs[:8]:
            print(f"  {d.size_diff / 1024:+9.1f} KiB {d.count_diff:+7d} blocks", flush=True)
            for line in d.traceback.format(limit=4, most_recent_first=True)[:8]:
                print("      " + line.strip(), flush=True)
    return snap


def driver(args: argparse.Namespace) -> int:
    from bench import soak_faults as faults
    from bench.soak import config_text
    from bench.soak_run import Netwatch
    from tests.helpers.netns import Netlab
    from tests.helpers.procs import free_port
    from tests.helpers.victoriametrics import VictoriaMetrics

    work = Path(tempfile.mkdtemp(prefix="nwmemprobe-"))
    out = work / "snaps"
    out.mkdir()
    with Netlab(prefix="nwmemsoak4") as lab:
        core = lab.add("core")
        core.run("ip", "addr", "add", "127.1.0.1/16", "dev", "lo")
        core.run("ip", "addr", "add", "127.250.0.1/24", "dev", "lo")
        with core.entered():
            vm = VictoriaMetrics(work / "vm")
            vm.start()
            kw = dict(
                devices=args.devices,
                lab_villages=0,
                trap_port=free_port(),
                snmpd_port=9,
                webhook="http://127.0.0.1:9/hook",
                influx=vm.url,
                spool=work / "spool",
                db=work / "alerts.sqlite3",
            )
            good, bad = config_text(**kw), config_text(**kw, interval=".nan")  # type: ignore[arg-type]
            nw = Netwatch(work, good, free_port(), "public")
            # the wrapper instead of the console script
            nw_start = nw.start
            wrapper = [sys.executable, str(Path(__file__).resolve()), "--child", str(out)]

            def start(timeout: float) -> None:
                real = subprocess.Popen

                def popen(argv, *a, **k):  # type: ignore[no-untyped-def]
                    return real([*wrapper, *argv[1:]], *a, **k)

                subprocess.Popen = popen  # type: ignore[misc]
                try:
                    nw_start(timeout)
                finally:
                    subprocess.Popen = real  # type: ignore[misc]

            start(300)
            assert nw.proc is not None
            n = 0
            prev = None

            def snapshot(label: str) -> None:
                nonlocal n, prev
                n += 1
                nw.proc.send_signal(signal.SIGUSR1)  # type: ignore[union-attr]
                deadline = time.monotonic() + 300
                while not (out / f"snap{n}.json").exists() and time.monotonic() < deadline:
                    time.sleep(0.5)
                prev = _report(out, n, label, prev)

            def reload_storm(k: int) -> None:
                turns = faults.reload_storm(
                    nw.url + "/-/reload", nw.config, good, bad, args.reload_seconds
                )
                print("reload storm turns:", len(turns), flush=True)
                time.sleep(20)
                snapshot(f"after reload storm {k}")

            try:
                time.sleep(args.warm)
                snapshot("after warm-up")
                time.sleep(args.idle)
                snapshot("after idle")
                reload_storm(1)
                storm = faults.scrape_storm(
                    nw.url + "/metrics", [f"127.250.0.{i}" for i in range(1, 6)], 40, 45
                )
                print("scrape storm:", storm["statuses"], flush=True)
                time.sleep(20)
                snapshot("after scrape storm")
                reload_storm(2)
                time.sleep(args.idle)
                snapshot("after idle")
                nw.proc.send_signal(signal.SIGUSR2)
                time.sleep(3)
                print("malloc_trim(0):", (out / "trim.json").read_text(), flush=True)
                snapshot("after malloc_trim")
            finally:
                nw.stop()
                vm.stop()
                print("netwatch log tail:", nw.tail()[-1500:], flush=True)
    return 0


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        return child(Path(sys.argv[2]), sys.argv[3:])
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--warm", type=float, default=120)
    ap.add_argument("--idle", type=float, default=90)
    ap.add_argument("--trace", action="store_true", help="tracemalloc (slow: fewer devices)")
    ap.add_argument("--reload-seconds", type=float, default=60)
    ap.add_argument("--no-trim", action="store_true", help="netwatch's own trims off")
    ap.add_argument("--refs", action="store_true", help="what holds each live Inventory")
    args = ap.parse_args()
    if args.trace:
        os.environ["NETWATCH_MEMPROBE_TRACE"] = "1"
    if args.no_trim:
        os.environ["NETWATCH_MEMPROBE_NO_TRIM"] = "1"
    if args.refs:
        os.environ["NETWATCH_MEMPROBE_REFS"] = "1"
    return driver(args)


if __name__ == "__main__":
    sys.exit(main())
