"""Drive an Engine with synthetic rounds and an injected clock; read the outbox with plain SQL."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from netwatch.alerting import store
from netwatch.alerting.engine import Engine
from netwatch.alerting.notifiers.webhook import WebhookTarget
from netwatch.alerting.outbox import Outbox
from netwatch.core.model import Inventory
from netwatch.core.notifications import ContactList, NotificationSettings

# One receiver, never delivered to here: the outbox rows are what the tests read.
ONE_RECEIVER = NotificationSettings(
    contacts=(ContactList("oncall", (WebhookTarget("http://127.0.0.1:9/hook"),)),),
    default_contacts="oncall",
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
        self.engine.conn.close()
        self.engine = self.start()

    def round(self, up: dict[str, bool], dt: float = 2.0) -> None:
        """One round of each named device at the current time, then evaluate, then advance."""
        for name, ok in up.items():
            self.engine.observe(name, self.clock.t, 5, 5 if ok else 0, 0.001 if ok else None)
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
