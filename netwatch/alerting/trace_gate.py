"""When traces back off: a cap per minute, and none while the monitoring loop is overloaded.

Issue 10: an overloaded loop reads its ICMP socket late, replies are lost, lost replies ask
for traces, and traces cost more of the machine: a loop that feeds itself. So a new trace
waits (is skipped, and counted by reason) while
- `traceroute_per_minute` traces started in the last minute ("rate"),
- the event loop ran a timer more than `traceroute_max_lag` late in the last CALM seconds
  ("loop_lag"; LagProbe measures it at the loop's selector: every turn longer than the limit,
  and every wake-up later than the limit past its timeout, are seen),
- one of this process's ICMP sockets dropped replies in the last CALM seconds ("icmp_drops":
  the kernel's per-socket drop counter in /proc/net/{raw,icmp}[6], nothing on the hot path).
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from netwatch.core.ticks import next_tick

PROBE = 1.0  # seconds between the probe's own timer runs (the drop reading): whole seconds
FALLBACK = 0.2  # seconds between probe timers on a loop whose selector cannot be timed (uvloop)
CALM = 10.0  # seconds without lag or drops before traces start again
MINUTE = 60.0
_INODES_FOR = 10.0  # seconds our socket inode list is reused before it is read again
_TABLES = ("raw", "raw6", "icmp", "icmp6")


class SocketDrops:
    """Replies the kernel dropped on this process's ICMP sockets (receive queue full).

    Read once a second by the lag probe, so its idle case is kept cheap: our socket inodes
    are listed every _INODES_FOR seconds, and with them the four tables are read in full to
    learn which of them hold one of our sockets (the ICMP collector opens raw or datagram
    sockets, IPv4 and/or IPv6: usually one table of the four). Until the next listing only
    those tables are read (a socket opened meanwhile waits for the next listing either way).
    """

    def __init__(self, proc: str = "/proc") -> None:
        self.proc = proc
        self._inodes: set[bytes] = set()
        self._inodes_at = -_INODES_FOR
        self._tables: tuple[str, ...] = _TABLES  # those that held one of our sockets

    def _own_inodes(self) -> tuple[set[bytes], bool]:
        """Our socket inodes, and whether they were listed again now."""
        now = time.monotonic()
        if now - self._inodes_at < _INODES_FOR:
            return self._inodes, False
        fds = f"{self.proc}/self/fd"
        inodes = set()
        for fd in os.listdir(fds):
            try:
                target = os.readlink(f"{fds}/{fd}")
            except OSError:
                continue  # closed meanwhile
            if target.startswith("socket:["):
                inodes.add(target[8:-1].encode())
        self._inodes, self._inodes_at = inodes, now
        return inodes, True

    def total(self) -> int:
        """The sum of the drop counters of our raw and datagram ICMP sockets."""
        own, listed = self._own_inodes()
        dropped = 0
        holding = []
        for table in _TABLES if listed else self._tables:
            try:
                # thread-self: the network namespace of the loop's thread (tests run loops
                # in namespaces entered by one thread)
                with open(f"{self.proc}/thread-self/net/{table}", "rb") as f:
                    lines = f.read().splitlines()
            except OSError:
                continue  # no IPv6, or procfs not mounted: nothing to read
            found = False
            for line in lines[1:]:  # (the header first)
                cols = line.split()
                # ... uid timeout inode ref pointer drops (net/ipv4/raw.c, ping.c)
                if len(cols) >= 13 and cols[9] in own:
                    dropped += int(cols[-1])
                    found = True
            if found:
                holding.append(table)
        if listed:
            self._tables = tuple(holding)
        return dropped


class _Turns:
    """The turns of one event loop, timed at its selector (one per loop, shared by its probes).

    A turn's work runs from one select() returning to the next select() call: a timer due
    when it began runs that late at least. A select() that returns later than its timeout
    past the call woke that late (the thread got no CPU, or the process was stopped): the
    timer it waited for ran that late. Either, over the probes' smallest limit, is told to
    them. This replaces a probe timer every 0.2 s (issue 10: at 1,000 devices 3.3 of its 5
    wake-ups a second were sleeps of the loop ended for it alone, ~70 µs each on cold caches)
    and sees every stall over the limit, where the timer saw those over limit + 0.2 s. Its
    cost is two clock reads a turn.
    """

    def __init__(self, selector: Any) -> None:
        self.selector = selector
        self.inner = selector.select  # (bound: whatever select the selector's class has now)
        self.probes: list[LagProbe] = []
        self.floor = math.inf  # the smallest limit of the probes
        self.back = time.monotonic()  # when the last select() returned
        self.timed = self.select  # the instance attribute the loop finds (_run_once)
        selector.select = self.timed

    @classmethod
    def watch(cls, loop: asyncio.AbstractEventLoop, probe: LagProbe) -> _Turns | None:
        """Time loop's turns for probe; None when its selector cannot be timed."""
        selector = getattr(loop, "_selector", None)  # asyncio's selector event loops
        if selector is None or not callable(getattr(selector, "select", None)):
            return None
        turns = getattr(vars(selector).get("select"), "__self__", None)  # a probe's before
        if not isinstance(turns, cls):
            turns = cls(selector)
        turns.probes.append(probe)
        turns.floor = min(p.limit for p in turns.probes)
        return turns

    def forget(self, probe: LagProbe) -> None:
        if probe in self.probes:
            self.probes.remove(probe)
        self.floor = min((p.limit for p in self.probes), default=math.inf)
        if not self.probes and vars(self.selector).get("select") is self.timed:
            del self.selector.select  # the class's select again

    def select(self, timeout: float | None = None) -> Any:
        start = time.monotonic()
        busy = start - self.back
        if busy > self.floor:
            self._late(busy, start)
        events = self.inner(timeout)
        self.back = back = time.monotonic()
        if timeout is not None and back - start - timeout > self.floor:
            self._late(back - start - timeout, back)
        return events

    def _late(self, late: float, at: float) -> None:
        for probe in self.probes:
            probe.note(late, at)


class LagProbe:
    """Remembers when the loop ran a timer more than `limit` late (its turns, timed at the
    selector: _Turns), and calls each_second once a second, on the whole seconds of loop time
    (the turns the alert engine's tick, the heartbeat and the outbox's look make anyway).
    On a loop whose selector cannot be timed, a timer every FALLBACK seconds measures it."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, limit: float, each_second: Callable[[], None]
    ) -> None:
        self.loop = loop
        self.limit = limit
        self.each_second = each_second
        self._runs = 0
        self.last_late = -float("inf")  # loop.time() of the last late run
        self.worst = 0.0  # the largest lateness seen over the smallest limit (logs and tests)
        self._handle: asyncio.TimerHandle | None = None
        self._turns = _Turns.watch(loop, self)
        self._step = PROBE if self._turns is not None else FALLBACK
        self._schedule()

    def _schedule(self) -> None:
        due = next_tick(self.loop.time(), self._step)  # on the grid: shares other timers' turns
        self._handle = self.loop.call_at(due, self._run, due)

    def note(self, late: float, at: float) -> None:
        """A timer ran (or would have run) `late` seconds late, noticed at loop time `at`."""
        self.worst = max(self.worst, late)
        if late > self.limit:
            self.last_late = at

    def _run(self, due: float) -> None:
        now = self.loop.time()
        self.note(now - due, now)
        self._runs += 1
        if self._runs % round(PROBE / self._step) == 0:
            self.each_second()
        self._schedule()

    def late_since(self, seconds: float) -> bool:
        return self.loop.time() - self.last_late < seconds

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._turns is not None:
            self._turns.forget(self)
            self._turns = None


class TraceGate:
    """Whether a trace may start now; the reason when not."""

    def __init__(
        self,
        per_minute: int,
        max_lag: float,
        drops: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.max_lag = max_lag
        self.drops = drops if drops is not None else SocketDrops().total
        self.clock = clock
        self.probe: LagProbe | None = None
        self._started: deque[float] = deque()  # start times within the last minute
        self._drops_seen: int | None = None
        self._drops_at = -float("inf")  # when the drop counter last grew

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the lag probe (and the drop readings) on loop, once."""
        if self.probe is None or self.probe.loop is not loop:
            if self.probe is not None:
                self.probe.close()
            self.probe = LagProbe(loop, self.max_lag, self.read_drops)
            self.read_drops()

    def hold(self, loop: asyncio.AbstractEventLoop | None) -> str | None:
        """None if a trace may start; else why not: rate, loop_lag or icmp_drops."""
        if loop is not None:
            self.watch(loop)
        now = self.clock()
        while self._started and now - self._started[0] >= MINUTE:
            self._started.popleft()
        if len(self._started) >= self.per_minute:
            return "rate"
        if self.probe is not None and self.probe.late_since(CALM):
            return "loop_lag"
        self.read_drops()
        if now - self._drops_at < CALM:
            return "icmp_drops"
        return None

    def read_drops(self) -> None:
        """Note when the drop counter grew (each second by the probe, and before a trace)."""
        try:
            dropped = self.drops()
        except (OSError, ValueError):
            return  # unreadable: decide on lag and rate alone
        if self._drops_seen is not None and dropped > self._drops_seen:
            self._drops_at = self.clock()
        self._drops_seen = dropped

    def started(self) -> None:
        self._started.append(self.clock())

    def close(self) -> None:
        if self.probe is not None:
            self.probe.close()
            self.probe = None
