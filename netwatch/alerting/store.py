"""The alerting SQLite database: connection, schema, and the engine's tables.

One file holds alerts, village state history, silences, acknowledgements, flapping state and
the notifiers' outbox, so that an alert-state change and its notification commit together.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator

from netwatch.alerting import outbox

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
    outbox.create_schema(conn)  # the notifiers' tables, same file: one transaction spans both
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
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def data_version(conn: sqlite3.Connection) -> int:
    """Changes whenever another connection commits (cheap poll for CLI acks and silences)."""
    return int(conn.execute("PRAGMA data_version").fetchone()[0])
