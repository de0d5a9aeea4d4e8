"""A stalled event loop is not packet loss (issue 14, defect 13): RTTs come from the kernel.

The loop is blocked (time.sleep in a callback) while replies are on their way: they arrive
in microseconds and wait in the socket. Counted from when the loop reads them, every one
would be "late" and the round lost; counted from the kernel's receive timestamp, none is.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from netwatch.collectors.icmp import Pinger
from tests.helpers.netns import requires_root

pytestmark = [pytest.mark.root, requires_root]

STALL = 0.8  # seconds the loop is blocked, well past the 0.3 s timeout


async def test_round_through_a_stalled_loop_loses_nothing():
    pinger = await Pinger.create()
    try:
        # Queued now, it blocks the loop as soon as ping() has sent its first echo and waits.
        asyncio.get_running_loop().call_soon(time.sleep, STALL)
        t0 = time.monotonic()
        result = await pinger.ping("127.0.0.1", count=3, spacing=0.01, timeout=0.3)
        took = time.monotonic() - t0
    finally:
        pinger.close()
    assert took >= STALL  # the stall really happened while the round ran
    assert (result.sent, result.received) == (3, 3), result
    # Loopback answers in microseconds; the stall is not in the RTTs.
    assert max(result.rtts) < 0.05, result.rtts


async def test_sweep_through_a_stalled_loop_loses_nothing():
    pinger = await Pinger.create()
    addresses = [f"127.8.0.{i}" for i in range(1, 51)]
    try:
        # Blocks the loop once the first echo to every host is out.
        asyncio.get_running_loop().call_soon(time.sleep, STALL)
        results = await pinger.sweep(addresses, count=2, spacing=0.02, timeout=0.3)
    finally:
        pinger.close()
    assert {(r.sent, r.received) for r in results} == {(2, 2)}
    assert max(max(r.rtts) for r in results) < 0.05
