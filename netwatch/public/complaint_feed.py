"""The complaint store as the alert engine reads it (alerting.correlation.ComplaintFeed).

A connection of its own, opened once the store's file exists (the board creates it; with the
board off there may be none, and then there are no complaints). Reads are one indexed range
query per evaluation; the only write notes which alert a complaint is attached to.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Mapping

from netwatch.alerting.complaint_links import Key
from netwatch.alerting.correlation import ComplaintRef
from netwatch.alerting.store import transaction


class StoreFeed:
    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _open(self) -> sqlite3.Connection | None:
        if self._conn is None:
            if not os.path.exists(self.path):
                return None  # never created: the board has not run
            # Short timeout: the engine evaluates on the monitor's event loop.
            conn = sqlite3.connect(
                self.path, timeout=0.5, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA synchronous=NORMAL")  # a note, replayed if lost
            self._conn = conn
        return self._conn

    def recent(self, since: float) -> list[ComplaintRef]:
        """Every complaint received at or after since, open or closed."""
        with self._lock:
            conn = self._open()
            if conn is None:
                return []
            rows = conn.execute(
                "SELECT id, village, received_at, status FROM complaints WHERE received_at >= ?",
                (since,),
            ).fetchall()
        return [ComplaintRef(int(i), str(v), float(t), s == "open") for i, v, t, s in rows]

    def attach(self, links: Mapping[Key, int]) -> None:
        """Write each complaint's alert id (first attachment wins, as in the alert store)."""
        with self._lock:
            conn = self._open()
            if conn is None:
                return
            with transaction(conn):
                conn.executemany(
                    "UPDATE complaints SET alert_id = ? WHERE id = ? AND received_at = ?"
                    " AND alert_id IS NULL",
                    [(alert_id, key[0], key[1]) for key, alert_id in links.items()],
                )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
