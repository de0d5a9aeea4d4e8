"""Give the C allocator's free memory back to the system after big transient events.

glibc's malloc keeps what Python frees in its heaps (the high-water mark), so a reload (two
10,000-device inventories for a moment, the loader's pickle) or a scrape storm (rendered
bodies) leaves RSS up although the objects are gone. The soak of 3 Dec (docs/performance.md)
measured it: no Python objects accumulated, yet RSS stepped ~15 MiB over the first storms.
`malloc_trim(0)` returns the free pages; it runs in a worker thread (ctypes releases the GIL),
at most once per `min_interval`, never while a scrape is being served. Only with glibc; on
another C library this does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import time
import weakref
from collections.abc import Callable
from typing import Protocol

from prometheus_client import Counter

from netwatch.core.telemetry import REGISTRY

log = logging.getLogger(__name__)


TRIMS = Counter(
    "netwatch_memory_trims_total",
    "malloc_trim(0) calls giving the allocator's free memory back after a reload or a scrape "
    "(glibc only; at most one a minute).",
    registry=REGISTRY,
)


class Serving(Protocol):
    """What holds big buffers while it works (the /metrics endpoint): its responses."""

    active: int


MIN_INTERVAL = 60.0  # seconds between two trims (a trim of a 200 MiB heap: a few ms)


def glibc_malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim from the running process, or None on another C library."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return None
        fn = ctypes.CDLL(None).malloc_trim
    except (ValueError, OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


class Trimmer:
    """Coalesces requests into at most one malloc_trim(0) per min_interval, off the loop."""

    def __init__(
        self,
        trim: Callable[[int], int] | None = None,
        min_interval: float = MIN_INTERVAL,
        delay: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._trim = trim if trim is not None else glibc_malloc_trim()
        self.min_interval = min_interval
        self.delay = delay  # after the request: the event's last references go first
        self._clock = clock
        self._last = float("-inf")
        self._timer: asyncio.TimerHandle | None = None
        self._busy: weakref.WeakSet[Serving] = weakref.WeakSet()  # held by their servers
        self.trims = 0  # trims done (tests, debugging)

    def busy_while(self, part: Serving) -> None:
        """Do not trim while part.active (a scrape body is being written)."""
        self._busy.add(part)

    def request(self) -> None:
        """A big transient event has ended: trim soon (rate-limited, coalesced)."""
        if self._trim is None or self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        wait = max(self.delay, self._last + self.min_interval - self._clock())
        self._timer = loop.call_later(wait, self._due)

    def _due(self) -> None:
        self._timer = None
        if any(part.active > 0 for part in list(self._busy)):
            self.request()  # again after the delay: the scrape will be over
            return
        self._last = self._clock()
        self.trims += 1
        TRIMS.inc()
        task = asyncio.get_running_loop().run_in_executor(None, self._run)
        task.add_done_callback(lambda f: f.exception())  # logged in _run; nothing to raise

    def _run(self) -> None:
        assert self._trim is not None
        started = time.perf_counter()
        try:
            self._trim(0)
        except Exception:  # never fatal: memory is only kept longer
            log.exception("malloc_trim failed")
            return
        log.debug("malloc_trim(0) took %.1f ms", (time.perf_counter() - started) * 1e3)


TRIMMER = Trimmer()  # the process's one (runtime reloads and /metrics request through it)


# --- a memory report on request (bench/run_bench.py --memory-report) ----------------------------


MALLINFO2_FIELDS = (
    "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
    "fordblks", "keepcost",
)  # fmt: skip


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in MALLINFO2_FIELDS]


def mallinfo2() -> dict[str, int]:
    """glibc's mallinfo2 (all arenas): {} on another C library."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return {}
        fn = ctypes.CDLL(None).mallinfo2
    except (ValueError, OSError, AttributeError):
        return {}
    fn.restype = _Mallinfo2
    info = fn()
    return {name: int(getattr(info, name)) for name in MALLINFO2_FIELDS}


PYMALLOC_KEYS = {
    "arenas allocated current": "arenas",
    "arenas highwater mark": "arenas_hwm",
    "bytes in allocated blocks": "allocated",
    "bytes in available blocks": "available",
    "bytes lost to pool headers": "pool_headers",
    "bytes lost to quantization": "quantization",
    "bytes lost to arena alignment": "alignment",
}


def pymalloc_stats() -> dict[str, int]:
    """Arena and block totals from sys._debugmallocstats (which writes to C stderr)."""
    import sys
    import tempfile

    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            sys._debugmallocstats()
            ctypes.CDLL(None).fflush(None)  # C stderr is buffered when not a terminal
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    out = {}
    for line in text.splitlines():
        key, _, value = line.lstrip("# ").partition("=")
        if key.strip() in PYMALLOC_KEYS:
            out[PYMALLOC_KEYS[key.strip()]] = int(value.replace(",", "").strip())
    return out


def smaps_kinds(path: str = "/proc/self/smaps") -> dict[str, float]:
    """Resident MiB by kind of mapping: the main heap, anonymous (pymalloc's arenas, big
    blocks, other threads' malloc arenas), files, stacks."""
    kinds: dict[str, float] = {}
    kind = "anon"
    with open(path) as fh:
        for line in fh:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):  # a mapping's header line
                parts = line.split()
                name = parts[5] if len(parts) > 5 else ""
                kind = {"[heap]": "heap", "[stack]": "stack"}.get(name, "file" if name else "anon")
                if name.startswith("[") and kind not in ("heap", "stack"):
                    kind = "other"
            elif first == "Rss:":
                kinds[kind] = kinds.get(kind, 0.0) + int(line.split()[1]) / 1024
    return kinds


def report(census: bool = True, top: int = 25) -> dict[str, object]:
    """What the process's memory is made of now (diagnostics: holds the loop ~1-3 s at
    50,000 devices with the census, which unfreezes and refreezes the collector's heap)."""
    import gc
    import sys
    import tracemalloc
    from collections import Counter

    status = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS", "VmHWM")):
                key, value = line.split(":", 1)
                status[key] = int(value.split()[0]) / 1024
    out: dict[str, object] = {
        "time": time.time(),
        "rss": status["VmRSS"],
        "hwm": status["VmHWM"],
        "smaps": smaps_kinds(),
        "mallinfo2": mallinfo2(),
        "pymalloc": pymalloc_stats(),
        "gc_frozen": gc.get_freeze_count(),
    }
    if census:
        frozen = gc.get_freeze_count()
        gc.unfreeze()  # get_objects() does not see the permanent generation
        try:
            count: Counter[str] = Counter()
            size: Counter[str] = Counter()
            for obj in gc.get_objects():
                name = type(obj).__qualname__
                count[name] += 1
                size[name] += sys.getsizeof(obj)
        finally:
            if frozen:
                gc.freeze()
        out["types_by_size"] = {k: [count[k], v] for k, v in size.most_common(top)}
        out["gc_objects"] = sum(count.values())
    if tracemalloc.is_tracing():
        snap = tracemalloc.take_snapshot()
        stats = snap.statistics("lineno")[:top]
        out["traced"] = tracemalloc.get_traced_memory()[0]
        out["traced_top"] = [
            [f"{s.traceback[0].filename}:{s.traceback[0].lineno}", s.size, s.count] for s in stats
        ]
    return out


def write_report(path: str) -> None:
    """Append one report to path as a JSON line (SIGUSR2 with $NETWATCH_MEMORY_REPORT set)."""
    import json

    started = time.perf_counter()
    # The census lists every tracked object (a list of ~1.5 M at 50,000 devices, ~12 MiB for a
    # moment): asked for apart, so that a run measuring its high-water can leave it out.
    line = report(census=os.environ.get("NETWATCH_MEMORY_CENSUS") == "1")
    line["took"] = time.perf_counter() - started
    with open(path, "a") as fh:
        fh.write(json.dumps(line) + "\n")
