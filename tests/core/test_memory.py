"""netwatch/core/memory.py: malloc_trim after big transient events, coalesced and off the loop."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Callable

from netwatch.core.memory import Trimmer, glibc_malloc_trim


class Endpoint:
    """Stands for the /metrics endpoint: `active` responses being written."""

    def __init__(self) -> None:
        self.active = 0


def test_glibc_malloc_trim_is_found_and_runs() -> None:
    # This machine runs Debian: glibc, as its own confstr says (not the code under test).
    assert os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc ")
    trim = glibc_malloc_trim()
    assert trim is not None
    assert trim(0) in (0, 1)  # 1: memory was released, 0: none to release


async def _wait(pred: Callable[[], object], seconds: float) -> None:
    for _ in range(int(seconds / 0.01)):
        if pred():
            return
        await asyncio.sleep(0.01)


async def test_requests_are_coalesced_and_rate_limited() -> None:
    calls: list[str] = []

    def trim(pad: int) -> int:
        calls.append(threading.current_thread().name)
        return 1

    trimmer = Trimmer(trim, min_interval=0.5, delay=0.02)
    for _ in range(50):  # a reload storm: 50 reloads end within the delay
        trimmer.request()
    await _wait(lambda: calls, 2.0)
    await asyncio.sleep(0.1)
    assert len(calls) == 1
    assert calls[0] != threading.current_thread().name  # off the event loop's thread
    trimmer.request()  # within min_interval of the first: waits for it to pass
    await asyncio.sleep(0.2)
    assert len(calls) == 1
    await _wait(lambda: len(calls) == 2, 2.0)
    assert len(calls) == 2


async def test_no_trim_while_a_scrape_is_being_served() -> None:
    calls: list[int] = []
    trimmer = Trimmer(lambda pad: calls.append(pad) or 1, min_interval=0.0, delay=0.02)
    endpoint = Endpoint()
    trimmer.busy_while(endpoint)
    endpoint.active = 1
    trimmer.request()
    await asyncio.sleep(0.3)
    assert calls == []  # postponed, again and again, while the body is written
    endpoint.active = 0
    await _wait(lambda: calls, 2.0)
    assert calls == [0]


def test_without_a_running_loop_or_glibc_nothing_happens() -> None:
    calls: list[int] = []
    Trimmer(lambda pad: calls.append(pad) or 1).request()  # no loop: nothing scheduled
    assert calls == []


# What a scrape does to the C heap: big transient buffers (text slices, gzip batches) freed
# after, between allocations that stay. RSS growth is read from /proc, in a fresh interpreter.
_SCRAPES = """
import sys
from pathlib import Path
if sys.argv[1] == "netwatch":
    import netwatch.core.memory as m
    assert m.MMAP_THRESHOLD_FIXED
def rss():
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x[:6] == "VmRSS:")
    return int(line.split()[1]) / 1024
keep = []
first = bytes(1 << 21)
del first  # a big block freed: glibc's default raises its mmap threshold up to it
base = rss()
for _ in range(3):
    bufs = []
    for i in range(60):
        bufs.append(b"x" * ((1 << 20) + i))
        keep.append(bytearray(2048))  # above pymalloc's 512 bytes: from the C heap
    del bufs
print(rss() - base)
"""


def _growth(mode: str) -> float:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"}
    out = subprocess.run([sys.executable, "-c", _SCRAPES, mode], env=env, capture_output=True,
                         text=True, timeout=60, check=True)  # fmt: skip
    return float(out.stdout)


def test_freed_scrape_buffers_leave_rss_with_the_mmap_threshold_fixed() -> None:
    # glibc's default (the dynamic threshold) keeps the freed buffers' pages: ~60 MiB here.
    assert _growth("default") > 30
    assert _growth("netwatch") < 8  # netwatch.core.memory fixed it at import
