"""A notifier that cannot run is loud: /readyz, netwatch_component_up, retried by the outbox."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from netwatch.alerting import store
from netwatch.core.notifier_health import STUCK_AFTER, stuck_faults
from tests.helpers.netwatch_proc import config, running
from tests.helpers.procs import http_get, wait_for

NOTIFY = """  alerting: {{db_path: {db}}}
  notifications:
    contacts:
      - name: noc
        telegram:
          - {{chat_ids: ["-100"], token: {{env: NW_HARDEN_UNSET_TOKEN}}}}
    default_contacts: noc
"""


def test_unreadable_notifier_secret_makes_readyz_say_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NW_HARDEN_UNSET_TOKEN"}
    text = config(settings=NOTIFY.format(db=tmp_path / "alerts.sqlite3"))
    with running(tmp_path, text, env=env, ready=False) as nw:
        body = nw.not_ready("notifier_telegram")
        assert "NW_HARDEN_UNSET_TOKEN is not set" in body
        assert nw.value('netwatch_component_up{component="notifier_telegram"}') == 0
        # The rest runs: the alert store is open, pings go on.
        assert nw.value('netwatch_component_up{component="alert_store"}') == 1
        wait_for(lambda: nw.echoes("purwodadi-router") > 0, 20, "pings")
        # The operator sets the variable and restarts netwatch: the fault is gone.
    env["NW_HARDEN_UNSET_TOKEN"] = "123:abc"
    with running(tmp_path, text, env=env) as nw:
        assert "notifier_telegram" not in http_get(nw.url + "/readyz")[1]


def test_deliveries_failing_for_long_are_a_fault(tmp_path: Path) -> None:
    db = str(tmp_path / "alerts.sqlite3")
    conn = store.connect(db)
    now = time.time()
    rows = [
        ("a/1", "webhook", now - STUCK_AFTER - 120, 3, "webhook http://127.0.0.1:1: refused"),
        ("a/2", "webhook", now - 30, 1, "webhook http://127.0.0.1:1: refused"),
        ("b/1", "email", now - STUCK_AFTER - 120, 0, None),  # never attempted yet: not stuck
        ("c/1", "telegram", now - STUCK_AFTER - 500, 9, "HTTP 502"),
    ]
    with conn:
        for rid, notifier, created, attempts, error in rows:
            conn.execute(
                "INSERT INTO outbox (id, notification_id, fingerprint, created_at, event,"
                " payload, notifier, receiver, attempts, next_attempt, last_error)"
                " VALUES (?, ?, 'fp', ?, 'firing', '{}', ?, '{}', ?, ?, ?)",
                (rid, rid, created, notifier, attempts, created, error),
            )
    conn.close()
    faults = stuck_faults(db, now)
    assert set(faults) == {"webhook", "telegram"}
    assert faults["webhook"].startswith("1 notification(s) undelivered for 12 min")
    assert "refused" in faults["webhook"]
    assert "undelivered for 18 min" in faults["telegram"]
    # Read-only: the check never creates or locks the database.
    assert stuck_faults(str(tmp_path / "missing.sqlite3"), now) == {}
    assert not (tmp_path / "missing.sqlite3").exists()
    with sqlite3.connect(db) as check:
        assert check.execute("SELECT count(*) FROM outbox").fetchone()[0] == 4
