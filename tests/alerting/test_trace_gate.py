"""Traces back off (trace_gate): a cap per minute, and none while the loop runs late or an ICMP
socket of this process drops replies (the kernel's own counter, made to grow here)."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from typing import Any

import pytest

from netwatch.alerting import metrics
from netwatch.alerting.rules import Topology
from netwatch.alerting.trace_gate import SocketDrops, TraceGate
from netwatch.alerting.tracing import Tracing
from netwatch.alerting.tracker import Tracker
from netwatch.core.model import AlertingSettings, Role
from tests.helpers import regency
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
