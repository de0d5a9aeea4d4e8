"""Traces back off (trace_gate): a cap per minute, and none while the loop runs late or an ICMP
socket of this process drops replies (the kernel's own counter, made to grow here)."""

from __future__ import annotations

import asyncio
import selectors
import socket
import struct
import time
from typing import Any

import pytest

from netwatch.alerting import metrics
from netwatch.alerting.rules import Topology
from netwatch.alerting.trace_gate import CALM, LagProbe, SocketDrops, TraceGate
from netwatch.alerting.tracing import Tracing
from netwatch.alerting.tracker import Tracker
from netwatch.core.model import AlertingSettings, Role
from netwatch.core.ticks import sleep_to_tick
from tests.helpers import regency
from tests.helpers.loop_calls import counting
from tests.helpers.netns import Netlab, requires_root


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_cap_per_minute():
    clock = Clock()
    gate = TraceGate(3, 0.5, drops=lambda: 0, clock=clock)
    for _ in range(3):
        assert gate.hold(None) is None
        gate.started()
        clock.now += 1
    assert gate.hold(None) == "rate"
    clock.now += 56.5  # the first start is 59.5 s old: still within the minute
    assert gate.hold(None) == "rate"
    clock.now += 0.5
    assert gate.hold(None) is None


def test_no_trace_while_the_loop_runs_late():
    async def main() -> list[str | None]:
        loop = asyncio.get_running_loop()
        gate = TraceGate(100, 0.3, drops=lambda: 0)
        try:
            seen = [gate.hold(loop)]  # starts the lag probe
            await asyncio.sleep(0.6)
            seen.append(gate.hold(loop))  # on time so far
            time.sleep(0.8)  # the loop held: the probe's next run is ~0.6 s late
            await asyncio.sleep(0.3)
            seen.append(gate.hold(loop))
            assert gate.probe is not None and gate.probe.worst > 0.3
            return seen
        finally:
            gate.close()

    assert asyncio.run(main()) == [None, None, "loop_lag"]


def test_every_stall_just_over_the_limit_is_seen():
    """A stall of 0.35 s with a 0.3 s limit holds traces each time. (A probe timer every
    0.2 s ran late by the stall less the way from its start to the probe's due time: it saw
    such a stall only when a probe fell due in its first 0.05 s, one time in four.)"""

    async def main() -> list[bool]:
        loop = asyncio.get_running_loop()
        seen = []
        for _ in range(3):
            probe = LagProbe(loop, 0.3, lambda: None)
            try:
                await asyncio.sleep(0.05)
                assert not probe.late_since(CALM)
                time.sleep(0.35)  # the loop's thread holds it, off the probe's grid
                await asyncio.sleep(0)  # the next turn
                seen.append(probe.late_since(CALM))
            finally:
                probe.close()
        return seen

    assert asyncio.run(main()) == [True, True, True]


def test_short_turns_are_not_lag():
    async def main() -> tuple[bool, float]:
        loop = asyncio.get_running_loop()
        probe = LagProbe(loop, 0.5, lambda: None)
        try:
            for _ in range(5):
                time.sleep(0.02)  # 20 ms turns: busy, but far under the limit
                await asyncio.sleep(0.01)
            return probe.late_since(CALM), probe.worst
        finally:
            probe.close()

    late, worst = asyncio.run(main())
    assert not late and worst < 0.5


class _SleepySelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """Returns `oversleep` seconds after its timeout once (as when the thread gets no CPU)."""

    oversleep = 0.0

    def select(self, timeout: float | None = None) -> Any:
        events = super().select(timeout)
        if timeout is not None and self.oversleep:
            time.sleep(timeout + self.oversleep)  # (a select that slept too long)
            self.oversleep = 0.0
        return events


def test_a_wake_up_later_than_the_limit_is_lag():
    """The loop slept past its timer by more than the limit: that timer ran late."""
    selector = _SleepySelector()
    loop = asyncio.SelectorEventLoop(selector)
    try:

        async def main() -> tuple[bool, bool]:
            probe = LagProbe(loop, 0.3, lambda: None)
            try:
                await asyncio.sleep(0.05)
                before = probe.late_since(CALM)
                selector.oversleep = 0.4
                await asyncio.sleep(0.01)  # a select with a timeout: 0.4 s past it
                return before, probe.late_since(CALM)
            finally:
                probe.close()

        assert loop.run_until_complete(main()) == (False, True)
    finally:
        loop.close()


def test_the_probe_wakes_the_loop_once_a_second_and_leaves_the_selector_as_it_was():
    """Idle, the loop's turns are the probe's timer on whole seconds (each_second each
    time): no timer of its own every 0.2 s. Closed, the selector's select is its class's."""

    async def main() -> tuple[int, int, float, bool]:
        loop = asyncio.get_running_loop()
        selector = loop._selector  # type: ignore[attr-defined]
        seconds: list[float] = []
        await sleep_to_tick(1.0)  # start on a whole second: 2.5 s hold 2 or 3 of them
        with counting(loop, "_run_once") as turns:
            probe = LagProbe(loop, 0.5, lambda: seconds.append(loop.time()))
            other = LagProbe(loop, 0.2, lambda: None)  # a second probe on the same loop
            await asyncio.sleep(2.5)
            other.close()
            probe.close()
            idle_turns = turns[0]
        gap = max(abs(t - round(t)) for t in seconds)
        return idle_turns, len(seconds), gap, "select" in vars(selector)

    turns, seconds, gap, patched = asyncio.run(main())
    assert seconds == 2 and gap < 0.05  # at 1 and 2 s, on the grid
    # The two probes' timers share their turns; + the sleep's timer and its task's step.
    assert turns <= 6, turns  # a 0.2 s probe alone made 12 turns in 2.5 s
    assert not patched


def test_a_loop_without_a_selector_to_time_gets_the_probe_timer():
    """uvloop has no asyncio selector: the probe's timer runs every FALLBACK seconds and
    measures lag itself; each_second still once a second."""

    class Loop:
        def __init__(self) -> None:
            self.now = 100.03
            self.timers: list[tuple[float, Any, tuple[Any, ...]]] = []

        def time(self) -> float:
            return self.now

        def get_debug(self) -> bool:
            return False

        def call_at(self, when: float, fn: Any, *args: Any) -> Any:
            self.timers.append((when, fn, args))
            return asyncio.TimerHandle(when, fn, args, self)  # type: ignore[arg-type]

    loop = Loop()
    seconds: list[float] = []
    probe = LagProbe(loop, 0.5, lambda: seconds.append(loop.now))  # type: ignore[arg-type]
    for k in range(10):
        when, fn, args = loop.timers[-1]
        assert 0 < when - loop.now <= 0.2 + 1e-9  # the next multiple of 0.2 s
        assert when / 0.2 == pytest.approx(round(when / 0.2))
        loop.now = when + (0.7 if k == 6 else 0.01)  # the seventh run 0.7 s late
        fn(*args)
    assert len(seconds) == 2
    assert probe.late_since(CALM) and probe.worst == pytest.approx(0.7)


def _echo(seq: int) -> bytes:
    body = struct.pack("!BBHHH", 8, 0, 0, 0x4E57, seq) + b"x" * 56
    s = sum(struct.unpack(f"!{len(body) // 2}H", body))
    s = (s & 0xFFFF) + (s >> 16)
    return body[:2] + struct.pack("!H", ~(s + (s >> 16)) & 0xFFFF) + body[4:]


def _overflow_and_watch() -> tuple[int, int, str | None, str | None]:
    """In a namespace: an ICMP socket with a tiny receive buffer that nobody reads gets 500
    echo replies; returns (drops before, drops after, gate before, gate after)."""
    clock = Clock()
    gate = TraceGate(100, 0.5, clock=clock)
    victim = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    sender = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        victim.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        drops = SocketDrops()
        before = drops.total()
        first = gate.hold(None)
        for seq in range(500):
            sender.sendto(_echo(seq), ("127.0.0.1", 0))
        deadline = time.monotonic() + 5
        while drops.total() == before and time.monotonic() < deadline:
            time.sleep(0.05)
        after = drops.total()
        clock.now += 1
        return before, after, first, gate.hold(None)
    finally:
        victim.close()
        sender.close()


@requires_root
@pytest.mark.root
def test_no_trace_while_an_icmp_socket_drops_replies():
    with Netlab() as lab:
        ns = lab.add("drops")
        before, after, first, then = ns.call(_overflow_and_watch)
        # What the kernel itself says of that socket (the last column of /proc/net/raw).
        assert before == 0 and after > 0
        assert (first, then) == (None, "icmp_drops")


def test_a_held_trace_is_counted_and_not_waited_for():
    """A skipped trace does not keep a firing alert waiting traceroute_wait for a path."""
    inv = regency.build(districts=1, villages=1, aps=1, settings=AlertingSettings())
    s = inv.settings.alerting
    tracker = Tracker(s)
    for name in inv.devices:
        tracker.track(name)
    topo = Topology(inv)
    router = next(n for n, d in inv.devices.items() if d.village and d.role is Role.ROUTER)
    tracker.tracks[router].failing = True
    clock = Clock()

    class Refusing:  # never asked: the gate holds first
        def submit(self, address: str) -> Any:
            raise AssertionError("the gate should have held this trace")

        def start(self) -> None:
            pass

        async def aclose(self) -> None:
            pass

    tracing = Tracing(Refusing(), s, tracker, clock)
    tracing.gate = TraceGate(1, 0.5, drops=lambda: 0, clock=clock)
    tracing.gate.started()  # the minute's one trace is taken
    before = metrics.TRACES_SKIPPED.labels("rate")._value.get()

    async def main() -> None:
        tracing.request(router, topo)

    asyncio.run(main())
    assert tracing.skipped["rate"] == 1
    assert metrics.TRACES_SKIPPED.labels("rate")._value.get() == before + 1
    assert tracing.path_for(router, clock.now) == (True, None)  # fires now, without a path


_HEADER = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode ref pointer drops\n"
)


def _row(inode: int, drops: int) -> str:
    # The columns of /proc/net/raw and /proc/net/icmp (net/ipv4/raw.c raw_sock_seq_show).
    return (
        f"   1: 00000000:0001 00000000:0000 07 00000000:00000000 00:00000000 00000000     0"
        f"        0 {inode} 2 0000000000000000 {drops}\n"
    )


def _proc(root, tables: dict[str, list[tuple[int, int]]], fds: dict[str, str]) -> None:
    (root / "self" / "fd").mkdir(parents=True, exist_ok=True)
    (root / "thread-self" / "net").mkdir(parents=True, exist_ok=True)
    for fd, target in fds.items():
        link = root / "self" / "fd" / fd
        if not link.is_symlink():
            link.symlink_to(target)
    for table, rows in tables.items():
        text = _HEADER + "".join(_row(i, d) for i, d in rows)
        (root / "thread-self" / "net" / table).write_text(text)


def test_socket_drops_read_once_a_second_only_the_tables_that_hold_our_sockets(
    tmp_path, monkeypatch
):
    """The lag probe reads the drop counters every second: between two listings of our
    sockets (every 10 s) only the tables that held one of them are read; the others are
    read again with the next listing, which finds a socket opened meanwhile."""
    from netwatch.alerting import trace_gate

    # Our sockets: inodes 111 (a raw IPv4 socket) and 222 (not ICMP); 999 is another
    # process's ICMP socket in the same namespace.
    fds = {"3": "socket:[111]", "4": "socket:[222]", "5": "/dev/null"}
    _proc(tmp_path, {"raw": [(111, 5), (999, 40)], "raw6": [], "icmp": [(999, 7)]}, fds)
    opened: list[str] = []
    real_open = open

    def counting_open(path, *args, **kwargs):
        opened.append(str(path).rsplit("/", 1)[-1])
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(trace_gate, "open", counting_open, raising=False)
    drops = SocketDrops(str(tmp_path))
    assert drops.total() == 5  # ours only: 111's 5, not 999's 40 or 7
    assert sorted(opened) == ["icmp", "icmp6", "raw", "raw6"]  # the listing's full read
    for second in range(1, 4):  # the probe's next seconds
        opened.clear()
        _proc(tmp_path, {"raw": [(111, 5 + second), (999, 40)]}, fds)
        assert drops.total() == 5 + second  # growth is seen at once
        assert opened == ["raw"]
    # A datagram ICMP socket of ours opened meanwhile: found at the next listing (10 s).
    fds["6"] = "socket:[333]"
    _proc(tmp_path, {"icmp": [(999, 7), (333, 2)]}, fds)
    assert drops.total() == 8  # not listed yet (as before: the inode list lives 10 s)
    drops._inodes_at -= 10.0  # ten seconds on
    opened.clear()
    assert drops.total() == 10
    assert sorted(opened) == ["icmp", "icmp6", "raw", "raw6"]
    opened.clear()
    assert drops.total() == 10
    assert sorted(opened) == ["icmp", "raw"]
