"""The alerting database: WAL, schema version, and the atomicity of state change + outbox."""

from __future__ import annotations

import sqlite3

import pytest

from netwatch.alerting import store


def test_wal_and_schema_version(tmp_path):
    db = tmp_path / "a.sqlite3"
    store.connect(str(db)).close()
    other = sqlite3.connect(db)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    version = other.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    assert version == str(store.SCHEMA_VERSION)
    tables = {r[0] for r in other.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"alerts", "village_states", "silences", "acknowledgements", "outbox"} <= tables


def test_newer_schema_is_refused_with_the_path(tmp_path):
    db = tmp_path / "a.sqlite3"
    store.connect(str(db)).close()
    other = sqlite3.connect(db)
    other.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    other.commit()
    with pytest.raises(store.SchemaError) as exc:
        store.connect(str(db))
    assert str(db) in str(exc.value) and "99" in str(exc.value)


def test_failed_sink_rolls_back_the_alert(tmp_path):
    """A notification that cannot be stored takes its alert-state change down with it."""
    from tests.alerting.test_engine import make, with_down

    h = make(tmp_path)

    def broken_sink(n):
        raise OSError("disk full")

    h.engine.sink = broken_sink
    h.rounds(with_down(h, "rtr-1-1"), 3)
    conn = sqlite3.connect(tmp_path / "alerts.sqlite3")
    assert conn.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    assert h.engine.snapshot().alerts == ()
    assert h.engine.snapshot().errors >= 1
