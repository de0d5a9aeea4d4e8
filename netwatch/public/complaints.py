"""The complaint store (kotak pengaduan): SQLite, file mode 0600, every report committed to disk
before the resident is told it was received (WAL, synchronous=FULL: survives kill -9).

No personal data is stored: no address, no name; only the village, a category and free text.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from netwatch.alerting.store import transaction as _transaction
from netwatch.public.texts import CATEGORIES
from netwatch.public.view import Reports

log = logging.getLogger("netwatch.public")

SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS complaints (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        village TEXT NOT NULL,
        district TEXT NOT NULL,
        category TEXT NOT NULL,
        text TEXT NOT NULL DEFAULT '',
        received_at REAL NOT NULL,
        measured_state TEXT NOT NULL,
        outage_known INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'open',
        closed_at REAL,
        closed_by TEXT,
        close_comment TEXT,
        alert_id INTEGER
    )""",
    "CREATE INDEX IF NOT EXISTS complaints_village ON complaints(village, received_at)",
    "CREATE INDEX IF NOT EXISTS complaints_open ON complaints(status) WHERE status = 'open'",
)


class StoreError(RuntimeError):
    """The complaint store cannot be opened or written; the message names the file."""


@dataclass(frozen=True, slots=True)
class Complaint:
    id: int
    village: str
    district: str
    category: str
    text: str
    received_at: float
    measured_state: str  # the village's public state when the report came
    outage_known: bool  # an open alert covered the village then
    status: str  # open | closed
    closed_at: float | None = None
    closed_by: str | None = None
    close_comment: str | None = None
    alert_id: int | None = None  # the alert it is attached to (correlation)


def _create_private(path: str) -> None:
    """Create the database file 0600 before SQLite does (SQLite gives its WAL the same mode)."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            os.chmod(path, 0o600)
            log.warning("complaint store %s was mode %o: set to 0600", path, mode)
        return
    os.close(fd)


class ComplaintStore:
    """One connection, used from any thread under a lock (writes are few and short)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            _create_private(path)
            conn = sqlite3.connect(
                path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            with _transaction(conn):
                for stmt in _SCHEMA:
                    conn.execute(stmt)
                row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                if row is None:
                    conn.execute(
                        "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                    )
                elif int(row[0]) > SCHEMA_VERSION:
                    raise StoreError(
                        f"{path}: schema_version {row[0]} is newer than this netwatch "
                        f"({SCHEMA_VERSION}); upgrade netwatch"
                    )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"complaint store {path}: {exc}") from exc
        self._conn = conn

    def add(
        self,
        village: str,
        district: str,
        category: str,
        text: str,
        *,
        measured_state: str,
        outage_known: bool,
        now: float,
    ) -> int:
        """Store one complaint; returns its number once it is on disk."""
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}")
        try:
            with self._lock, _transaction(self._conn):
                cur = self._conn.execute(
                    "INSERT INTO complaints(village, district, category, text, received_at,"
                    " measured_state, outage_known) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (village, district, category, text, now, measured_state, int(outage_known)),
                )
                return int(cur.lastrowid or 0)
        except sqlite3.Error as exc:
            raise StoreError(f"complaint store {self.path}: {exc}") from exc

    def list(
        self,
        *,
        status: str | None = "open",
        village: str | None = None,
        district: str | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[Complaint]:
        """Complaints, newest first, filtered."""
        where: list[str] = []
        args: list[str | float] = []
        for column, value in (("status", status), ("village", village), ("district", district)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            where.append("received_at >= ?")
            args.append(since)
        sql = "SELECT * FROM complaints"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY received_at DESC, id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [_complaint(r) for r in rows]

    def close(self, ids: Iterable[int], *, by: str, comment: str, now: float) -> dict[int, str]:
        """Close complaints; returns id → 'closed' | 'already closed' | 'not found'."""
        out: dict[int, str] = {}
        with self._lock, _transaction(self._conn):
            for i in ids:
                row = self._conn.execute("SELECT status FROM complaints WHERE id = ?", (i,))
                got = row.fetchone()
                if got is None:
                    out[i] = "not found"
                elif got[0] == "closed":
                    out[i] = "already closed"
                else:
                    self._conn.execute(
                        "UPDATE complaints SET status = 'closed', closed_at = ?, closed_by = ?,"
                        " close_comment = ? WHERE id = ?",
                        (now, by, comment, i),
                    )
                    out[i] = "closed"
        return out

    def reports(self, now: float, window: float = 86400.0) -> dict[str, Reports]:
        """Per village: complaints in the last window, open ones, and the latest time."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT village, SUM(received_at >= ?), SUM(status = 'open'), MAX(received_at)"
                " FROM complaints WHERE status = 'open' OR received_at >= ? GROUP BY village",
                (now - window, now - window),
            ).fetchall()
        return {v: Reports(int(n or 0), int(o or 0), last) for v, n, o, last in rows}

    def totals(self) -> dict[str, tuple[str, int, int]]:
        """Per village: (district, received ever, open now), for the metrics."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT village, MAX(district), COUNT(*), SUM(status = 'open')"
                " FROM complaints GROUP BY village"
            ).fetchall()
        return {v: (d, int(n), int(o or 0)) for v, d, n, o in rows}

    def shutdown(self) -> None:
        with self._lock:
            self._conn.close()


def _complaint(r: sqlite3.Row | tuple) -> Complaint:
    (i, village, district, category, text, received, state, known, status, *rest) = r
    closed_at, closed_by, comment, alert_id = rest
    return Complaint(
        i,
        village,
        district,
        category,
        text,
        received,
        state,
        bool(known),
        status,
        closed_at,
        closed_by,
        comment,
        alert_id,
    )
