"""Alerts of a multi-regency config carry the regency (Alertmanager routes a regency's team)."""

from __future__ import annotations

from netwatch.config import load_inventory
from tests.alerting.harness import Harness
from tests.config.test_regions import PROVINCE
from tests.helpers.configs import write


def fire_village_down(tmp_path, text: str, router: str) -> dict[str, str]:
    inv = load_inventory(write(tmp_path, text))
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    up = dict.fromkeys(inv.devices, True)
    h.rounds(up, 2)
    h.rounds({**up, router: False}, 3)  # three failed rounds: the hold-down's default
    (event,) = h.outbox()
    assert event["event"] == "firing"
    return event["alert"]["labels"]


def test_village_alert_of_a_province_names_its_regency(tmp_path):
    labels = fire_village_down(tmp_path, PROVINCE, "r-35-09-01-2001")
    assert labels["village"] == "35.09.01.2001"
    assert (labels["regency"], labels["regency_name"]) == ("35.09", "Jember")


def test_one_regency_config_keeps_its_label_set(tmp_path):
    one = PROVINCE.split('    - code: "35.09"')[0]
    labels = fire_village_down(tmp_path, one, "r-35-10-01-2001")
    assert set(labels) == {
        "alertname", "severity", "village", "village_name", "district", "district_name"
    }  # fmt: skip


def test_uptime_report_filters_and_names_regencies(tmp_path):
    import csv
    import io

    from tests.alerting.harness import Clock
    from tests.alerting.test_cli import T0, cli

    path = write(tmp_path, PROVINCE)
    inv = load_inventory(path)
    h = Harness(inv, inv.settings.alerting.db_path, clock=Clock(T0))  # the config's own db
    up = dict.fromkeys(inv.devices, True)
    h.rounds(up, 2, dt=60)
    h.rounds({**up, "r-35-09-01-2001": False}, 10, dt=60)  # Jember's village down
    h.rounds(up, 3, dt=60)
    args = ("report", "uptime", "--config", str(path), "--from", "2025-01-01", "--to", "2025-01-02")
    out = cli(*args, "--regency", "35.09")
    assert out.returncode == 0, out.stderr
    (row,) = csv.DictReader(io.StringIO(out.stdout))
    assert (row["village"], row["regency"], row["regency_name"]) == (
        "35.09.01.2001", "35.09", "Jember"
    )  # fmt: skip
    assert row["outages"] == "1"
    province = cli(*args, "--regency", "35", "--format", "md")
    assert province.returncode == 0, province.stderr
    lines = province.stdout.splitlines()
    assert lines[2] == (
        "| Village | Name | District | Regency | Uptime % | Outages | Outage time | Longest |"
    )
    assert sum(line.startswith("| 35.") for line in lines) == 2
    assert "| Jember |" in province.stdout and "| Banyuwangi |" in province.stdout
