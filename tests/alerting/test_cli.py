"""`netwatch alerts` and `netwatch report uptime` as separate processes on the engine's database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import subprocess
import sys

from netwatch.core.model import AlertingSettings
from tests.alerting.harness import Clock, Harness
from tests.alerting.test_engine import with_down
from tests.helpers import regency

WIB = dt.timezone(dt.timedelta(hours=7))
# 1 Jan 2025 00:00 WIB: fixed, and in the past of any machine running this.
T0 = dt.datetime(2025, 1, 1, tzinfo=WIB).timestamp()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netwatch", *args], capture_output=True, text=True, timeout=60
    )


def scenario(tmp_path, **kw) -> Harness:
    inv = regency.build(districts=1, villages=3, aps=1, settings=AlertingSettings(**kw))
    h = Harness(inv, str(tmp_path / "a.sqlite3"), clock=Clock(T0))
    return h


def test_uptime_report_csv_and_md(tmp_path):
    h = scenario(tmp_path)
    h.rounds(with_down(h), 2, dt=60)  # T0, T0+60: up recorded at T0+60 (second round)
    h.rounds(with_down(h, "rtr-1-1"), 3, dt=60)  # fails at +120,+180,+240: down at +240
    h.rounds(with_down(h, "rtr-1-1"), 10, dt=60)
    h.rounds(with_down(h), 2, dt=60)  # ok at +900, +960: up at +960
    h.rounds(with_down(h), 5, dt=60)
    db = str(tmp_path / "a.sqlite3")
    out = cli("report", "uptime", "--db", db, "--from", "2025-01-01", "--to", "2025-01-02")
    assert out.returncode == 0, out.stderr
    rows = {r["village"]: r for r in csv.DictReader(io.StringIO(out.stdout))}
    v1 = rows["35.10.01.2001"]
    known = 86400 - 60  # history starts at the first verdict, T0+60
    outage = 960 - 240
    assert v1["outages"] == "1"
    assert v1["outage_seconds"] == str(outage)
    assert v1["longest_outage_seconds"] == str(outage)
    assert v1["uptime_percent"] == f"{100 * (1 - outage / known):.3f}"
    assert v1["no_data_seconds"] == "60"
    assert rows["35.10.01.2002"]["uptime_percent"] == "100.000"
    assert rows["35.10.01.2002"]["outages"] == "0"
    md = cli(
        "report",
        "uptime",
        "--db",
        db,
        "--from",
        "2025-01-01",
        "--to",
        "2025-01-02",
        "--format",
        "md",
        "--district",
        "35.10.01",
    )
    assert md.returncode == 0, md.stderr
    assert "| 35.10.01.2001 |" in md.stdout and "0h12m00s" in md.stdout


def test_report_rejects_bad_dates(tmp_path):
    out = cli(
        "report",
        "uptime",
        "--db",
        str(tmp_path / "x.sqlite3"),
        "--from",
        "yesterday",
        "--to",
        "2025-01-02",
    )
    assert out.returncode == 2
    assert "--from" in out.stderr and "yesterday" in out.stderr


def test_alerts_list_ack_stops_escalation(tmp_path):
    h = scenario(tmp_path, escalate_after=60.0)
    h.rounds(with_down(h), 2)
    h.rounds(with_down(h, "rtr-1-3"), 3)
    db = str(tmp_path / "a.sqlite3")
    out = cli("alerts", "list", "--db", db, "--json")
    assert out.returncode == 0, out.stderr
    alerts = [json.loads(line) for line in out.stdout.splitlines()]
    assert [a["labels"]["village"] for a in alerts] == ["35.10.01.2003"]
    ack = cli("alerts", "ack", str(alerts[0]["id"]), "--db", db, "--by", "sari")
    assert ack.returncode == 0, ack.stderr
    h.rounds(with_down(h, "rtr-1-3"), 60)  # 120 s: past escalate_after
    assert [e for e, _ in h.events()] == ["firing"]
    table = cli("alerts", "list", "--db", db)
    assert "ack sari" in table.stdout
    bad = cli("alerts", "ack", "nope", "--db", db, "--by", "sari")
    assert bad.returncode == 2 and "nope" in bad.stderr


def test_silence_from_cli(tmp_path):
    h = scenario(tmp_path)
    db = str(tmp_path / "a.sqlite3")
    start = dt.datetime.fromtimestamp(T0, WIB).strftime("%Y-%m-%dT%H:%M")
    out = cli(
        "alerts",
        "silence",
        "add",
        "--db",
        db,
        "--district",
        "35.10.01",
        "--start",
        start,
        "--duration",
        "2h",
        "--by",
        "sari",
        "--comment",
        "works",
    )
    assert out.returncode == 0, out.stderr
    h.rounds(with_down(h), 2)
    h.rounds(with_down(h, "rtr-1-3"), 5)
    assert h.events() == []
    listed = cli("alerts", "silence", "list", "--db", db, "--all")
    assert "district=35.10.01" in listed.stdout
    hist = cli("alerts", "history", "--db", db, "--from", "2024-12-31", "--to", "2025-01-02")
    assert "silence:1" in hist.stdout


def test_report_and_alerts_name_the_bad_config_line(tmp_path):
    """A broken --config is reported at its file and line, not as a traceback."""
    cfg = tmp_path / "netwatch.yaml"
    cfg.write_text("settings:\n  alerting:\n    flap_threshold: three\nregency: {code: '35.10'}\n")
    for args in (
        ("report", "uptime", "--from", "2025-01-01", "--to", "2025-01-02"),
        ("alerts", "list"),
    ):
        out = cli(*args, "--config", str(cfg))
        assert out.returncode == 1, out.stderr
        assert f"{cfg}:3: settings.alerting.flap_threshold: must be an integer" in out.stderr
        assert "Traceback" not in out.stderr
