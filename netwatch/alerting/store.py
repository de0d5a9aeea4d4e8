"""The alerting SQLite database: connection, schema, and every statement on the engine's tables.

One file holds alerts, village state history, silences, acknowledgements, flapping state and
the notifiers' outbox (outbox_store.py), so that an alert-state change and its notification
commit together. Nothing else in netwatch writes SQL for these tables. Over 400 lines on
purpose: every statement on these tables in one file is what keeps the schema reviewable.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence

from netwatch.alerting import complaint_links, outbox_store
from netwatch.alerting.records import Flap, OpenAlert, Silence, StateInterval

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL,
    alertname TEXT NOT NULL,
    labels TEXT NOT NULL,            -- JSON
    state TEXT NOT NULL,             -- firing | resolved
    starts_at REAL NOT NULL,
    ends_at REAL,
    cause TEXT,
    down_devices TEXT NOT NULL DEFAULT '[]',
    affected_villages TEXT NOT NULL DEFAULT '[]',
    path_break TEXT,
    suppressed_by TEXT,              -- why the firing notification is held back
    notified_at REAL,                -- first FIRING/FLAPPING notification
    last_notified_at REAL,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    acknowledged_by TEXT,
    acknowledged_at REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open ON alerts(fingerprint) WHERE state = 'firing';
CREATE INDEX IF NOT EXISTS alerts_starts ON alerts(starts_at);
CREATE TABLE IF NOT EXISTS village_states (
    village TEXT NOT NULL,
    state TEXT NOT NULL,             -- up | degraded | down | unreachable-upstream | unknown
    since REAL NOT NULL,
    until REAL,                      -- NULL while current
    maintenance INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (village, since)
);
CREATE INDEX IF NOT EXISTS village_states_open ON village_states(village) WHERE until IS NULL;
CREATE TABLE IF NOT EXISTS silences (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    matchers TEXT NOT NULL,          -- JSON {label: value}, all must equal
    starts_at REAL NOT NULL,
    ends_at REAL NOT NULL,
    created_by TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS acknowledgements (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT NOT NULL,
    alert_id INTEGER,
    by TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS flaps (
    fingerprint TEXT PRIMARY KEY,
    since REAL NOT NULL,
    last_change REAL NOT NULL,
    alert_id INTEGER NOT NULL        -- last alert of the fingerprint when flapping began
);
"""


class SchemaError(RuntimeError):
    """The database was written by a newer netwatch."""


def connect(path: str) -> sqlite3.Connection:
    """Open (creating if needed) the alerting database with WAL and the current schema."""
    if path != ":memory:":
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, mode=0o700, exist_ok=True)
        # Created 0600 whatever the umask; SQLite gives its -wal and -shm files the same mode.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL survives a killed process (not a power cut) without an fsync per commit.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    outbox_store.create_schema(conn)  # the notifiers' tables, same file: one transaction spans both
    complaint_links.create_schema(conn)  # complaints attached to alerts (correlation.py)
    with transaction(conn):
        for stmt in _statements(_SCHEMA):
            conn.execute(stmt)
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
        elif int(row["value"]) > SCHEMA_VERSION:
            raise SchemaError(
                f"{path}: schema_version {row['value']} is newer than this netwatch "
                f"({SCHEMA_VERSION}); upgrade netwatch"
            )
    return conn


def _statements(script: str) -> Iterator[str]:
    # executescript() would commit our open transaction; split instead (no ';' in literals here).
    for raw in script.split(";"):
        lines = [ln.split("--", 1)[0] for ln in raw.splitlines()]
        stmt = "\n".join(lines).strip()
        if stmt:
            yield stmt


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        # A COMMIT that fails with SQLITE_FULL leaves the transaction open: without this
        # ROLLBACK every later BEGIN would fail too, even after the disk was freed.
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise


def data_version(conn: sqlite3.Connection) -> int:
    """Changes whenever another connection commits (cheap poll for CLI acks and silences)."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])


class Savepoint(contextlib.AbstractContextManager[None]):
    """Undo this block's writes if it raises (the enclosing transaction goes on)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("SAVEPOINT item")

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self.conn.execute("ROLLBACK TO item")
        self.conn.execute("RELEASE item")


def _alert_from_row(r: sqlite3.Row) -> OpenAlert:
    return OpenAlert(
        id=r["id"],
        labels=json.loads(r["labels"]),
        starts_at=r["starts_at"],
        cause=r["cause"],
        down_devices=tuple(json.loads(r["down_devices"])),
        affected_villages=tuple(json.loads(r["affected_villages"])),
        path_break=r["path_break"],
        suppressed_by=r["suppressed_by"],
        notified_at=r["notified_at"],
        last_notified_at=r["last_notified_at"],
        escalation_level=r["escalation_level"],
        acknowledged_by=r["acknowledged_by"],
    )


def _silence_from_row(r: sqlite3.Row) -> Silence:
    return Silence(
        r["id"], json.loads(r["matchers"]), r["starts_at"], r["ends_at"], r["created_by"],
        r["comment"],
    )  # fmt: skip


class AlertStore:
    """The engine's, the CLI's and the report's statements, on one connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return transaction(self.conn)

    def savepoint(self) -> contextlib.AbstractContextManager[None]:
        return Savepoint(self.conn)

    def data_version(self) -> int:
        return data_version(self.conn)

    def close(self) -> None:
        self.conn.close()

    # -- alerts -----------------------------------------------------------------------------------

    def open_alerts(self) -> list[OpenAlert]:
        return [_alert_from_row(r) for r in self.conn.execute(
            "SELECT * FROM alerts WHERE state = 'firing'"
        )]  # fmt: skip

    def acknowledgements(self) -> dict[int, str | None]:
        """acknowledged_by of every firing alert, by id (the CLI writes it)."""
        rows = self.conn.execute("SELECT id, acknowledged_by FROM alerts WHERE state = 'firing'")
        return {r["id"]: r["acknowledged_by"] for r in rows}

    def last_resolved(self, fp: str) -> tuple[OpenAlert, float] | None:
        """The latest resolved alert of a fingerprint and its end."""
        row = self.conn.execute(
            "SELECT * FROM alerts WHERE fingerprint = ? AND state = 'resolved'"
            " ORDER BY id DESC LIMIT 1",
            (fp,),
        ).fetchone()
        return None if row is None else (_alert_from_row(row), row["ends_at"])

    def changes_since(self, horizon: float) -> Iterator[tuple[str, list[float]]]:
        """(fingerprint, its starts and ends at or after horizon), oldest alert first."""
        rows = self.conn.execute(
            "SELECT fingerprint, starts_at, ends_at FROM alerts"
            " WHERE starts_at >= ? OR ends_at >= ? ORDER BY starts_at",
            (horizon, horizon),
        )
        for r in rows:
            times = [t for t in (r["starts_at"], r["ends_at"]) if t is not None and t >= horizon]
            yield r["fingerprint"], times

    def insert_alert(self, a: OpenAlert) -> int:
        """A new firing alert; returns its id."""
        cur = self.conn.execute(
            "INSERT INTO alerts(fingerprint, alertname, labels, state, starts_at, cause,"
            " down_devices, affected_villages, path_break)"
            " VALUES (?, ?, ?, 'firing', ?, ?, ?, ?, ?)",
            (
                a.fingerprint,
                a.labels["alertname"],
                json.dumps(a.labels, sort_keys=True),
                a.starts_at,
                a.cause,
                json.dumps(a.down_devices),
                json.dumps(a.affected_villages),
                a.path_break,
            ),
        )
        return int(cur.lastrowid or 0)

    def update_cause(self, a: OpenAlert) -> None:
        self.conn.execute(
            "UPDATE alerts SET cause = ?, down_devices = ? WHERE id = ?",
            (a.cause, json.dumps(a.down_devices), a.id),
        )

    def save_marks(self, a: OpenAlert) -> None:
        """The notification marks: held by whom, notified when, escalation level."""
        self.conn.execute(
            "UPDATE alerts SET suppressed_by = ?, notified_at = ?, last_notified_at = ?,"
            " escalation_level = ? WHERE id = ?",
            (a.suppressed_by, a.notified_at, a.last_notified_at, a.escalation_level, a.id),
        )

    def resolve_alert(self, alert_id: int, now: float) -> None:
        self.conn.execute(
            "UPDATE alerts SET state = 'resolved', ends_at = ? WHERE id = ?", (now, alert_id)
        )

    # -- flapping ---------------------------------------------------------------------------------

    def flaps(self) -> dict[str, Flap]:
        return {
            r["fingerprint"]: Flap(r["since"], r["last_change"], r["alert_id"])
            for r in self.conn.execute("SELECT * FROM flaps")
        }

    def start_flap(self, fp: str, flap: Flap) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO flaps(fingerprint, since, last_change, alert_id)"
            " VALUES (?, ?, ?, ?)",
            (fp, flap.since, flap.last_change, flap.alert_id),
        )

    def touch_flap(self, fp: str, now: float) -> None:
        self.conn.execute("UPDATE flaps SET last_change = ? WHERE fingerprint = ?", (now, fp))

    def end_flap(self, fp: str) -> None:
        self.conn.execute("DELETE FROM flaps WHERE fingerprint = ?", (fp,))

    # -- village state history --------------------------------------------------------------------

    def current_states(self) -> dict[str, str]:
        rows = self.conn.execute("SELECT village, state FROM village_states WHERE until IS NULL")
        return {r["village"]: r["state"] for r in rows}

    def current_since(self) -> dict[str, float]:
        """When each village entered its current state."""
        rows = self.conn.execute("SELECT village, since FROM village_states WHERE until IS NULL")
        return {r[0]: r[1] for r in rows}

    def record_state(self, village: str, state: str, now: float, maintenance: bool) -> None:
        """Close the village's current interval and open one in state."""
        self.conn.execute(
            "UPDATE village_states SET until = ? WHERE village = ? AND until IS NULL",
            (now, village),
        )
        self.conn.execute(
            "INSERT INTO village_states(village, state, since, until, maintenance)"
            " VALUES (?, ?, ?, NULL, ?)",
            (village, state, now, int(maintenance)),
        )

    def state_intervals(self, start: float, end: float) -> list[StateInterval]:
        """Intervals overlapping [start, end), by village then time."""
        rows = self.conn.execute(
            "SELECT village, state, since, until FROM village_states"
            " WHERE since < ? AND (until IS NULL OR until > ?) ORDER BY village, since",
            (end, start),
        )
        return [StateInterval(*r) for r in rows]

    # -- silences (the CLI writes, the engine reads) ----------------------------------------------

    def silences(self, now: float, include_ended: bool = False) -> list[Silence]:
        """Silences not yet ended (or all of them)."""
        since = float("-inf") if include_ended else now
        rows = self.conn.execute("SELECT * FROM silences WHERE ends_at > ? ORDER BY id", (since,))
        return [_silence_from_row(r) for r in rows]

    def add_silence(
        self,
        matchers: dict[str, str],
        starts_at: float,
        ends_at: float,
        created_by: str,
        comment: str,
        now: float,
    ) -> int:
        with self.transaction():
            cur = self.conn.execute(
                "INSERT INTO silences(matchers, starts_at, ends_at, created_by, comment,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (json.dumps(matchers, sort_keys=True), starts_at, ends_at, created_by, comment,
                 now),
            )  # fmt: skip
        return int(cur.lastrowid or 0)

    def expire_silence(self, silence_id: int, now: float) -> bool:
        """End a silence now; False when no such active silence."""
        with self.transaction():
            cur = self.conn.execute(
                "UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?",
                (now, silence_id, now),
            )
        return cur.rowcount == 1

    # -- the CLI ----------------------------------------------------------------------------------

    def firing(self, district: str | None = None) -> list[sqlite3.Row]:
        """Firing alerts (every column), oldest first."""
        extra, params = _label_filter("district", district)
        return self.conn.execute(
            f"SELECT * FROM alerts WHERE state = 'firing'{extra} ORDER BY starts_at", params
        ).fetchall()

    def village_incidents(self, horizon: float) -> list[sqlite3.Row]:
        """Village Wi-Fi alerts open at or after horizon, newest first (the public board)."""
        return self.conn.execute(
            "SELECT alertname, labels, starts_at, ends_at, cause, suppressed_by FROM alerts"
            " WHERE alertname IN ('VillageWifiDown', 'VillageWifiDegraded')"
            " AND (ends_at IS NULL OR ends_at >= ?) ORDER BY starts_at DESC",
            (horizon,),
        ).fetchall()

    def history(
        self,
        start: float,
        end: float,
        limit: int,
        village: str | None = None,
        district: str | None = None,
    ) -> list[sqlite3.Row]:
        """Alerts overlapping [start, end), oldest first."""
        sql = "SELECT * FROM alerts WHERE starts_at < ? AND (ends_at IS NULL OR ends_at >= ?)"
        params: list[str | float] = [end, start]
        for label, value in (("village", village), ("district", district)):
            extra, p = _label_filter(label, value)
            sql += extra
            params += p
        return self.conn.execute(sql + " ORDER BY starts_at LIMIT ?", [*params, limit]).fetchall()

    def acknowledge(self, key: str, by: str, comment: str, now: float) -> sqlite3.Row | None:
        """Acknowledge the firing alert with this id or fingerprint; its row, or None."""
        with self.transaction():
            row: sqlite3.Row | None = self.conn.execute(
                "SELECT id, fingerprint FROM alerts WHERE state = 'firing'"
                " AND (fingerprint = ? OR CAST(id AS TEXT) = ?)",
                (key, key),
            ).fetchone()
            if row is None:
                return None
            self.conn.execute(
                "UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ?",
                (by, now, row["id"]),
            )
            self.conn.execute(
                "INSERT INTO acknowledgements(fingerprint, alert_id, by, comment, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (row["fingerprint"], row["id"], by, comment, now),
            )
        return row


def _label_filter(label: str, value: str | None) -> tuple[str, Sequence[str]]:
    if value is None:
        return "", []
    return f" AND json_extract(labels, '$.{label}') = ?", [value]
