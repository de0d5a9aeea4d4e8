"""One device in the echo stream: its schedule, its run of outcomes and its current round."""

from __future__ import annotations

import socket
import zlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from netwatch.collectors.icmp.observation import ROUND, PingObservation, PingResult

if TYPE_CHECKING:
    from netwatch.collectors.icmp.rounds import Binding
    from netwatch.collectors.icmp.stream import EchoStream
    from netwatch.collectors.icmp_wire.sockets import EchoSocket
    from netwatch.core.model import Inventory


class Probe:
    """What the stream knows of one device (times: wall clock for sends, loop time for timers).

    It is the owner of its echoes on the shared socket (sockets.EchoOwner): the socket reader
    tells it of a reply, the socket of an echo it gave up; the stream decides what follows.
    """

    __slots__ = (
        "_bound",
        "addr4",
        "address",
        "alive",
        "burst",
        "children",
        "down_since",
        "due",
        "error",
        "inflight",
        "lane",
        "last_error",
        "last_sent",
        "name",
        "named",
        "ok_sent",
        "oks",
        "parents",
        "period",
        "reason",
        "report_at",
        "retrying",
        "run",
        "run_since",
        "sched",
        "seen",
        "steady_at",
        "stream",
        "timeout",
        "up",
        "w_received",
        "w_rtts",
        "w_sent",
        "w_start",
        "watch",
        "window",
    )

    def __init__(self, stream: EchoStream, name: str, address: str, timeout: float) -> None:
        self.sched: list[Probe] | None = None  # the wheel slot's list it waits in (stream.py)
        self.alive = True  # False once removed by a reload (its echoes in flight are ignored)
        self.lane: EchoSocket | None = None  # bound.sock, kept by the bound setter
        self.addr4 = b""  # bound.target's 4 bytes (IPv4), kept by the bound setter
        self._bound: Binding | None = None
        self.stream = stream
        self.name = name
        self.address = address  # as configured: a literal or a name
        self.named = False  # a name: resolved again every round
        self.error: str | None = None  # why it cannot be bound
        self.timeout = timeout
        self.period = 0.0  # seconds between steady echoes
        self.window = 0.0  # seconds per round
        self.steady_at = 0.0  # loop time of the next steady echo
        self.due: float | None = None  # loop time of the next scheduled send
        self.report_at: float | None = None  # loop time the current round ends
        self.up: bool | None = None  # the verdict (None: not decided yet)
        self.reason = ""
        self.last_error: str | None = None  # why the last echo could not be sent
        self.run = 0  # echoes lost in a row (in send order; older losses do not count)
        self.run_since: float | None = None  # send time of the run's first lost echo
        self.down_since: float | None = None  # run_since of the run that made it down
        self.oks = 0  # replies toward the verdict up
        self.burst = False
        self.inflight = 0
        self.retrying = 0.0  # loop time its echo first found the send queue full (0: not)
        self.last_sent = 0.0  # wall time of the latest send
        self.ok_sent = 0.0  # send time of the newest answered echo (or a parent's: _excuse)
        self.seen = 0.0  # send time of the newest echo whose outcome is known
        self.watch: float | None = None  # report the next outcome of an echo sent since then
        self.parents: tuple[Probe, ...] = ()  # pinged parents, nearest first
        self.children: tuple[Probe, ...] = ()  # every device whose parent chain holds this
        self.w_start = 0.0  # wall time the current round began
        self.w_sent = 0
        self.w_received = 0
        self.w_rtts: list[float] = []

    @property
    def bound(self) -> Binding | None:
        """Where its echoes go (resolve.py binds it); lane and addr4 follow it."""
        return self._bound

    @bound.setter
    def bound(self, bound: Binding | None) -> None:
        self._bound = bound
        self.lane = None if bound is None else bound.sock
        self.addr4 = b""
        if bound is not None and bound.sock.raw4:
            self.addr4 = socket.inet_aton(bound.target)

    def reply(self, index: int, rtt: float, sent: float) -> None:
        if self.alive and not self.stream.closed:
            self.stream.reply(self, rtt, sent)

    def drop(self, index: int, sent: float) -> None:
        if self.alive and not self.stream.closed:
            self.stream.drop(self, sent)

    def report(self, event: str, with_round: bool, now: float) -> PingObservation | None:
        """The observation of event; with_round: it ends the round (None: an empty one)."""
        result = None
        start = self.w_start
        if with_round:
            if self.w_sent:
                result = PingResult(self.address, self.w_sent, self.w_received, self.w_rtts)
                self.w_sent = self.w_received = 0
                self.w_rtts = []
            self.w_start = now
            if result is None and event == ROUND:
                return None  # nothing came back in this round (all still in flight)
        failing = self.run > 0
        return PingObservation(
            self.name,
            start if result is not None else now,
            result,
            now - start if result is not None else 0.0,
            event,
            self.up,
            self.reason,
            failing,
            self.run_since if failing else (self.down_since if self.up is False else None),
            self.seen or None,
        )


def phase(name: str, period: float) -> float:
    """A stable offset in [0, period): devices' echoes spread evenly, the same every start."""
    return (zlib.crc32(name.encode()) % 10007) / 10007 * period


def parents(name: str, inventory: Inventory, probes: dict[str, Probe]) -> Iterable[Probe]:
    """The pinged parents of device name, nearest first (a cycle in config stops the walk)."""
    seen = {name}
    parent = inventory.devices[name].parent
    while parent is not None and parent in inventory.devices and parent not in seen:
        seen.add(parent)
        p = probes.get(parent)
        if p is not None:
            yield p
        parent = inventory.devices[parent].parent
