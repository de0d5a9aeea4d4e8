"""Drive an Engine with synthetic rounds and an injected clock; read the outbox with plain SQL.

The device verdicts come from a stand-in for the ICMP echo stream (`Stream` below): down after
HOLD_DOWN failed rounds, up after HOLD_UP answered ones, with the stream's own reports (lost,
down, answered, up). The real stream's sequential test on echoes is tested with real packets
in tests/collectors/test_icmp_stream.py; here only what the engine does with its reports.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from netwatch.alerting import store
from netwatch.alerting.engine import Engine
from netwatch.alerting.notifiers.webhook import WebhookTarget
from netwatch.alerting.outbox import Outbox
from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.core.model import Inventory
from netwatch.core.notifications import ContactList, NotificationSettings

# One receiver, never delivered to here: the outbox rows are what the tests read.
ONE_RECEIVER = NotificationSettings(
    contacts=(ContactList("oncall", (WebhookTarget("http://127.0.0.1:9/hook"),)),),
    default_contacts="oncall",
)


HOLD_DOWN = 3  # failed rounds before the stand-in stream says down
HOLD_UP = 2  # answered rounds before it says up


@dataclass
class Stream:
    """One device's echo stream, round by round: its verdict and the report of each round."""

    up: bool | None = None
    run: int = 0  # failed rounds in a row
    run_since: float | None = None
    down_since: float | None = None
    oks: int = 0

    def round(
        self, name: str, at: float, received: int, sent: int = 5, rtt: float = 0.002
    ) -> PingObservation:
        ok = received > 0
        event = "round"
        if ok:
            if self.run:
                event = "answered"
            self.run, self.run_since = 0, None
            if self.up is not True:
                self.oks += 1
                if self.oks >= HOLD_UP:
                    self.up, self.oks, event = True, 0, "up"
        else:
            self.oks = 0
            self.run += 1
            if self.run == 1:
                self.run_since = at
                if self.up is not False:
                    event = "lost"
            if self.up is not False and self.run >= HOLD_DOWN:
                self.up, self.down_since, event = False, self.run_since, "down"
        failing = self.run > 0
        return PingObservation(
            name,
            at,
            PingResult(name, sent, received, [rtt] * received),
            event=event,
            up=self.up,
            reason="" if self.up else "no reply",
            failing=failing,
            fail_since=self.run_since
            if failing
            else (self.down_since if self.up is False else None),
            seen_at=at,
        )


@dataclass
class Clock:
    t: float = 1_780_000_000.0

    def __call__(self) -> float:
        return self.t


@dataclass
class Harness:
    inventory: Inventory
    db: str
    clock: Clock = field(default_factory=Clock)
    polls: list[tuple[str, str, str]] = field(default_factory=list)
    streams: dict[str, Stream] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.engine = self.start()

    def start(self) -> Engine:
        conn = store.connect(self.db)
        return Engine(
            self.inventory,
            conn=conn,
            outbox=Outbox(conn, ONE_RECEIVER),
            request_poll=self._request_poll,
            clock=self.clock,
        )

    def _request_poll(self, device: str, collector: str, reason: str) -> bool:
        self.polls.append((device, collector, reason))
        return True  # a job took it, as the scheduler answers for a device it polls

    def restart(self) -> None:
        """A new engine on the same database; the streams start over too (a new process)."""
        self.engine.conn.close()
        self.streams.clear()
        self.engine = self.start()

    def observe(self, name: str, received: int, sent: int = 5, rtt: float = 0.002) -> None:
        """One round of device name at the current time (received of sent echoes answered,
        each after rtt seconds)."""
        stream = self.streams.setdefault(name, Stream())
        self.engine.observe(name, stream.round(name, self.clock.t, received, sent, rtt))

    def round(self, up: dict[str, bool], dt: float = 2.0) -> None:
        """One round of each named device at the current time, then evaluate, then advance."""
        for name, ok in up.items():
            self.observe(name, 5 if ok else 0)
        self.engine.evaluate()
        self.clock.t += dt

    def rounds(self, up: dict[str, bool], n: int, dt: float = 2.0) -> None:
        for _ in range(n):
            self.round(up, dt)

    def outbox(self) -> list[dict]:
        conn = sqlite3.connect(self.db)
        try:
            rows = conn.execute("SELECT event, payload FROM outbox ORDER BY rowid").fetchall()
        finally:
            conn.close()
        return [{"event": e, **json.loads(p)} for e, p in rows]

    def events(self) -> list[tuple[str, str]]:
        """(event, alertname) of each enqueued notification, in order."""
        return [(n["event"], n["alert"]["labels"]["alertname"]) for n in self.outbox()]

    def history(self, village: str) -> list[str]:
        conn = sqlite3.connect(self.db)
        try:
            rows = conn.execute(
                "SELECT state FROM village_states WHERE village = ? ORDER BY since", (village,)
            ).fetchall()
        finally:
            conn.close()
        return [r[0] for r in rows]
