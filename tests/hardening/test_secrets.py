"""Defect 10: credentials inside URLs passed `config check`, were logged on every failed
attempt and stored in the outbox table of a database created 0644."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from netwatch.config.urls import check_url, redact
from tests.helpers.netwatch_proc import config, config_check, line_of, running
from tests.helpers.procs import wait_for

BAD = [
    ("http://admin:hunter2@127.0.0.1:9093", "user:password@"),
    ("https://hooks.example.org/services/T0AB12CD3/B0AB12CD3/Xy7Qz9Lm2Np4Rt6Vw8Bc1Df3", "token"),
    ("https://hooks.example.org/notify?token=abc", "'token'"),
    ("https://hooks.example.org/notify?sig=abc&x=1", "'sig'"),
    ("https://hooks.example.org/notify?x=AbCdEf123456GhIjKl789012", "'x'"),
]
GOOD = [
    "http://127.0.0.1:9093",
    "https://noc.banyuwangikab.go.id/hooks/netwatch-alerts-banyuwangi",
    "https://api.telegram.org",
    "https://noc.example/villages/?lang=id",
]


@pytest.mark.parametrize(("url", "says"), BAD)
def test_credentials_in_urls_are_refused_without_echoing_them(url: str, says: str) -> None:
    with pytest.raises(ValueError) as exc:
        check_url(url)
    assert says in str(exc.value)
    for secret in ("hunter2", "Xy7Qz9Lm2Np4Rt6Vw8Bc1Df3", "AbCdEf123456GhIjKl789012"):
        assert secret not in str(exc.value)


@pytest.mark.parametrize("url", GOOD)
def test_ordinary_urls_pass(url: str) -> None:
    check_url(url)


def test_redact() -> None:
    assert (
        redact("https://u:p@h.example:8443/x?token=abc&a=b")
        == "https://h.example:8443/x?token=...&a=..."
    )


NOTIFY = """  notifications:
    contacts:
      - name: noc
        alertmanager: ["http://127.0.0.1:9093", "http://am:s3cretpass@127.0.0.1:9094"]
        webhook:
          - url: https://hooks.example.org/notify?token=abc123
        telegram:
          - {chat_ids: ["-100"], token: {env: TG}, base_url: "https://bot:pw@api.telegram.org"}
    default_contacts: noc
  influxdb: {url: "http://writer:w0rdpass@127.0.0.1:8086", bucket: netwatch}
"""


def test_config_check_names_file_and_line_of_each_credential_url(tmp_path: Path) -> None:
    text = config(settings=NOTIFY)
    cfg = tmp_path / "n.yaml"
    r = config_check(tmp_path, text)
    assert r.returncode == 1
    err = r.stderr
    assert (
        f"{cfg}:{line_of(text, 'alertmanager:')}: "
        "settings.notifications.contacts[0].alertmanager[1]:" in err
    )
    assert f"{cfg}:{line_of(text, '- url:')}: settings.notifications.contacts[0].webhook[0]:" in err
    assert (
        f"{cfg}:{line_of(text, 'base_url')}: settings.notifications.contacts[0].telegram[0]:" in err
    )
    assert f"{cfg}:{line_of(text, 'influxdb:')}: settings.influxdb.url:" in err
    for secret in ("s3cretpass", "abc123", ":pw@", "w0rdpass"):
        assert secret not in err


def test_alert_database_and_spool_are_private(tmp_path: Path) -> None:
    db = tmp_path / "state" / "alerts.sqlite3"
    spool = tmp_path / "state" / "spool"
    settings = (
        f"  alerting: {{db_path: {db}}}\n"
        f"  influxdb: {{url: 'http://127.0.0.1:9', bucket: b, spool_dir: {spool}, timeout: 1s}}\n"
    )
    old = os.umask(0o022)  # the usual umask: files would be 0644 unless created 0600
    try:
        with running(tmp_path, config(settings=settings)) as nw:
            wait_for(lambda: nw.echoes("purwodadi-router") > 0, 20, "first round")
            wait_for(lambda: any(spool.glob("*.seg")), 20, "spool segment")
            wait_for(lambda: Path(str(db) + "-wal").exists(), 20, "WAL file")
            files = [db, Path(str(db) + "-wal"), *spool.iterdir()]
            for f in files:
                mode = stat.S_IMODE(f.stat().st_mode)
                assert mode == 0o600, (f, oct(mode))
            with sqlite3.connect(db) as conn:
                assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    finally:
        os.umask(old)
