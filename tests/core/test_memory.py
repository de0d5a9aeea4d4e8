"""netwatch/core/memory.py: malloc_trim after big transient events, coalesced and off the loop."""

from __future__ import annotations

import asyncio
import os
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
