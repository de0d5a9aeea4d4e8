"""Defect 2: when the alert database cannot be opened, netwatch says so and keeps trying.

It used to log one line without the path, stay "ready", and drop every netwatch_alert* and
netwatch_village_service_state series, so nobody was paged and no rule could fire.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.netwatch_proc import config, count_lines, running
from tests.helpers.procs import http_get, wait_for


def _readyz(url: str) -> tuple[int, str]:
    return http_get(url + "/readyz")


@pytest.mark.parametrize("fault", ["corrupt", "not_a_directory", "read_only"])
def test_alert_store_fault_is_loud_and_retried(tmp_path: Path, fault: str) -> None:
    if fault == "read_only" and os.geteuid() != 0:
        pytest.skip("a read-only mount needs root")
    store = tmp_path / "state"
    store.mkdir()
    if fault == "corrupt":
        db = store / "alerts.sqlite3"
        db.write_bytes(b"this is not an SQLite database, it is a text file " * 200)
    elif fault == "not_a_directory":
        (store / "file").write_text("x")
        db = store / "file" / "alerts.sqlite3"
    else:  # what ProtectSystem=strict does to a db_path under /etc: a read-only file system
        mount = ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(store)]
        subprocess.run(mount, check=True)
        db = store / "alerts.sqlite3"
    text = config(settings=f"  alerting: {{db_path: {db}}}\n")
    try:
        with running(tmp_path, text, ready=False) as nw:
            body = nw.not_ready("alert_store")
            assert str(db) in body, body
            assert nw.value('netwatch_component_up{component="alert_store"}') == 0
            # Monitoring goes on meanwhile.
            wait_for(lambda: nw.echoes("purwodadi-router") > 0, 20, "pings go on")
            # Retried (1, 2, 4 s...) but logged once with the path: no flood.
            wait_for(lambda: count_lines(nw.log, "alert_store not running") >= 1, 10, "log")
            assert "netwatch_village_service_state" not in nw.metrics()
            failures = 'netwatch_component_failures_total{component="alert_store"}'
            wait_for(lambda: (nw.value(failures) or 0) >= 3, 30, "three attempts")
            log_text = nw.log.read_text()
            assert str(db) in log_text
            assert count_lines(nw.log, "alert_store not running") == 1
            # The operator repairs the store: the next retry opens it, no restart needed.
            if fault == "corrupt":
                db.unlink()
            elif fault == "not_a_directory":
                (store / "file").unlink()
            else:
                subprocess.run(["mount", "-o", "remount,rw", str(store)], check=True)
            wait_for(lambda: _readyz(nw.url)[0] == 200, 90, "ready after the repair")
            assert nw.value('netwatch_component_up{component="alert_store"}') == 1
            wait_for(
                lambda: 'netwatch_village_service_state{village="35.10.07.2001"' in nw.metrics(),
                10,
                "village service state exported again",
            )
            assert db.exists()
            assert count_lines(nw.log, "alert_store running again") == 1
    finally:
        if fault == "read_only":
            subprocess.run(["umount", str(store)], check=False)
