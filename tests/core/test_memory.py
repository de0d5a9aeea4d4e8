"""netwatch/core/memory.py: malloc_trim after big transient events, coalesced and off the loop."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable

from netwatch.core.memory import (
    Trimmer,
    glibc_malloc_trim,
    mallinfo2,
    pymalloc_stats,
    report,
    smaps_kinds,
)


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


SMAPS = """\
55d0c0a00000-55d0c0a21000 r--p 00000000 08:01 1234 /usr/bin/python3.11
Size:                132 kB
Rss:                 512 kB
55d0c2000000-55d0c2200000 rw-p 00000000 00:00 0 [heap]
Size:               2048 kB
Rss:                2048 kB
7f0000000000-7f0000100000 rw-p 00000000 00:00 0
Size:               1024 kB
Rss:                 100 kB
7f0000200000-7f0000300000 rw-p 00000000 00:00 0
Rss:                  24 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]
Rss:                 132 kB
7ffd00100000-7ffd00102000 r-xp 00000000 00:00 0 [vdso]
Rss:                   8 kB
"""


def test_smaps_kinds_adds_resident_kib_by_kind_of_mapping(tmp_path) -> None:
    path = tmp_path / "smaps"
    path.write_text(SMAPS)
    kinds = smaps_kinds(str(path))
    # By hand from the sample: heap 2048 kB, anonymous 100 + 24 kB, one file 512 kB.
    assert kinds == {
        "file": 0.5,
        "heap": 2.0,
        "anon": 124 / 1024,
        "stack": 132 / 1024,
        "other": 8 / 1024,
    }


def test_mallinfo2_counts_a_big_block_and_pymalloc_counts_small_objects() -> None:
    before = mallinfo2()["hblkhd"]
    big = bytearray(64 << 20)  # above glibc's largest mmap threshold (32 MiB): its own mapping
    assert mallinfo2()["hblkhd"] - before >= 64 << 20
    del big
    small_before = pymalloc_stats()["allocated"]
    # 100,000 bytes objects of 20 bytes: a 33-byte header (ob_sval's closing NUL counted) plus
    # 20 = 53 bytes each, served from pymalloc's 56-byte size class (8-byte classes up to 512).
    kept = [i.to_bytes(4, "little") * 5 for i in range(100_000)]
    grew = pymalloc_stats()["allocated"] - small_before
    assert 100_000 * 53 <= grew <= 100_000 * 56 + (1 << 20)
    assert len(kept) == 100_000


def test_a_report_names_rss_the_heap_and_both_allocators() -> None:
    out = report(census=False)
    assert out["rss"] <= out["hwm"]
    assert {"heap", "anon", "file"} <= set(out["smaps"])  # type: ignore[arg-type]
    assert out["pymalloc"]["arenas"] >= 1  # type: ignore[index]
    assert "types_by_size" not in out
    census = report(census=True)
    assert census["types_by_size"]["dict"][0] > 0  # type: ignore[index]
