"""Complaints against measurements with an injected clock: the real complaint store (SQLite),
the engine's feed of it, the engine and its outbox rows (no network)."""

from __future__ import annotations

import sqlite3

import pytest

from netwatch.alerting.messages import render
from netwatch.alerting.serialize import notification_from_dict
from netwatch.core.complaint_settings import ComplaintAlertSettings
from netwatch.core.model import AlertingSettings
from netwatch.public.complaint_feed import StoreFeed
from netwatch.public.complaints import ComplaintStore
from tests.alerting.harness import Harness
from tests.helpers import regency

V1, V2 = "35.10.01.2001", "35.10.01.2002"
FIRED = ("firing", "VillageWifiComplaints")
ENDED = ("resolved", "VillageWifiComplaints")
WARNING_ID = "warga melaporkan Wi-Fi bermasalah, pengukuran normal: periksa DHCP/portal"


def make(tmp_path, threshold: int = 3, window: float = 600.0) -> tuple[Harness, ComplaintStore]:
    settings = AlertingSettings(complaints=ComplaintAlertSettings(threshold, window))
    inv = regency.build(districts=1, villages=2, aps=1, settings=settings)
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    store = ComplaintStore(str(tmp_path / "complaints.sqlite3"))
    h.engine.correlation.feed = StoreFeed(store.path)
    h.rounds(dict.fromkeys(inv.devices, True), 2)
    return h, store


def complain(h: Harness, store: ComplaintStore, village: str, n: int = 1) -> list[int]:
    def one() -> int:
        return store.add(
            village, village[:8], "cannot_connect", "", measured_state="up", outage_known=False,
            now=h.clock.t,
        )  # fmt: skip

    return [one() for _ in range(n)]


def up(h: Harness, **down: bool) -> dict[str, bool]:
    states = dict.fromkeys(h.inventory.devices, True)
    states.update({k.replace("_", "-"): v for k, v in down.items()})
    return states


def alert_ids(db: str, village: str) -> list[tuple[str, int | None]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT category, alert_id FROM complaints WHERE village = ? ORDER BY id", (village,)
        ).fetchall()
    finally:
        conn.close()


def test_below_threshold_nothing_at_threshold_one_warning(tmp_path):
    h, store = make(tmp_path)
    complain(h, store, V1, 2)
    complain(h, store, V2, 2)  # another village's reports never add up with V1's
    h.rounds(up(h), 3)
    assert h.events() == []
    complain(h, store, V1)
    h.rounds(up(h), 3)
    complain(h, store, V1, 2)  # more reports: the same alert, no second one
    h.rounds(up(h), 3)
    assert h.events() == [("firing", "VillageWifiComplaints")]
    first = h.outbox()[0]
    assert first["alert"]["labels"]["severity"] == "warning"
    assert first["alert"]["labels"]["village"] == V1
    assert first["alert"]["complaints"] == 3
    msg = render(notification_from_dict(first), "id")
    assert WARNING_ID in msg.text and "mati" not in msg.text.lower()
    en = render(notification_from_dict(first), "en")
    assert "measurements normal: check DHCP/portal" in en.text
    assert "down" not in (en.text + en.subject).lower()
    (view,) = [a for a in h.engine.snapshot().alerts if a.labels["village"] == V1]
    assert view.complaints == 5  # the two later ones were attached too
    (gauge,) = metric(h, "netwatch_alert_complaints").items()
    assert dict(gauge[0])["alertname"] == "VillageWifiComplaints" and gauge[1] == 5.0
    assert {a for _c, a in alert_ids(store.path, V1)} == {view.id}  # noted in the store too
    assert {a for _c, a in alert_ids(store.path, V2)} == {None}


def test_resolves_when_the_window_passes_without_new_reports(tmp_path):
    h, store = make(tmp_path, window=600.0)
    complain(h, store, V1, 3)
    h.rounds(up(h), 2)
    assert h.events() == [("firing", "VillageWifiComplaints")]
    h.rounds(up(h), 5, dt=100.0)  # 500 s: still inside the window
    assert h.events() == [("firing", "VillageWifiComplaints")]
    h.rounds(up(h), 2, dt=100.0)  # past 600 s since the last report
    assert h.events() == [FIRED, ENDED]
    resolved = render(notification_from_dict(h.outbox()[1]), "id")
    assert "SELESAI" in resolved.subject and "mati" not in resolved.text.lower()


def test_resolves_when_an_operator_closes_the_reports(tmp_path):
    h, store = make(tmp_path)
    ids = complain(h, store, V1, 3)
    h.rounds(up(h), 2)
    store.close(ids[:2], by="noc", comment="", now=h.clock.t)
    h.rounds(up(h), 2)
    assert h.events() == [("firing", "VillageWifiComplaints")]  # one still open
    store.close(ids[2:], by="noc", comment="DHCP pool penuh", now=h.clock.t)
    h.rounds(up(h), 2)
    assert h.events() == [FIRED, ENDED]


def test_reports_during_an_outage_join_its_alert(tmp_path):
    h, store = make(tmp_path)
    h.rounds(up(h, ap_1_1_1=False), 4)
    assert h.events() == [("firing", "VillageWifiDown")]
    complain(h, store, V1, 4)
    h.rounds(up(h, ap_1_1_1=False), 3)
    assert h.events() == [("firing", "VillageWifiDown")]  # no new alert
    (down,) = h.engine.snapshot().alerts
    assert down.complaints == 4
    h.rounds(up(h), 4)
    assert h.events() == [("firing", "VillageWifiDown"), ("resolved", "VillageWifiDown")]
    resolved = notification_from_dict(h.outbox()[1])
    assert resolved.alert.complaints == 4
    assert "Laporan warga terkait: 4." in render(resolved, "id").text
    assert "Residents' reports attached: 4." in render(resolved, "en").text
    h.rounds(up(h), 3)  # up again, the reports still open: explained, no warning follows
    assert len(h.events()) == 2
    assert metric(h, "netwatch_complaints_correlated") == {
        (("result", "outage"),): 4.0,
        (("result", "unexplained"),): 0.0,
    }


def metric(h: Harness, name: str) -> dict[tuple, float]:
    """Samples of one family the alert exporter builds from the engine's snapshot."""
    from netwatch.exporters import prometheus_alerts

    (fam,) = [f for f in prometheus_alerts.families(h.engine) if f.name == name]
    return {tuple(sorted(s.labels.items())): s.value for s in fam.samples}


def test_an_outage_takes_over_from_the_warning_and_a_restart_keeps_counts(tmp_path):
    h, store = make(tmp_path)
    complain(h, store, V1, 3)
    h.rounds(up(h), 2)
    h.rounds(up(h, rtr_1_1=False), 4)
    complain(h, store, V1, 2)
    h.rounds(up(h, rtr_1_1=False), 2)
    assert h.events() == [
        ("firing", "VillageWifiComplaints"),
        ("firing", "VillageWifiDown"),
        ("resolved", "VillageWifiComplaints"),
    ]
    # Killed between the commit and the note in the complaint store: the note is lost.
    conn = sqlite3.connect(store.path)
    with conn:
        conn.execute("UPDATE complaints SET alert_id = NULL")
    conn.close()
    h.restart()  # a new engine on the same files (as after kill -9)
    h.engine.correlation.feed = StoreFeed(store.path)
    h.rounds(up(h, rtr_1_1=False), 2)
    (down,) = h.engine.snapshot().alerts
    assert down.labels["alertname"] == "VillageWifiDown" and down.complaints == 2
    assert len(h.events()) == 3
    warning = h.engine.store.conn.execute(
        "SELECT id FROM alerts WHERE alertname = 'VillageWifiComplaints'"
    ).fetchone()[0]
    assert [a for _c, a in alert_ids(store.path, V1)] == [warning] * 3 + [down.id] * 2


def test_settings_load_and_mistakes_name_file_and_line(tmp_path):
    from netwatch.config import ConfigError, load_inventory
    from tests.alerting.test_config import REGENCY

    cfg = tmp_path / "netwatch.yaml"
    good = "settings:\n  alerting:\n    complaints: {threshold: 5, window: 30m}\n"
    cfg.write_text(good + REGENCY)
    got = load_inventory(cfg).settings.alerting.complaints
    assert (got.threshold, got.window) == (5, 1800.0)
    cfg.write_text("settings:\n  alerting: {}\n" + REGENCY)
    got = load_inventory(cfg).settings.alerting.complaints
    assert (got.threshold, got.window) == (3, 3600.0)  # the documented defaults
    bad = (
        "settings:\n  alerting:\n    complaints:\n      threshold: 0\n      window: 10s\n"
        "      thresold: 4\n"
    )
    cfg.write_text(bad + REGENCY)
    with pytest.raises(ConfigError) as err:
        load_inventory(cfg)
    text = "\n".join(err.value.errors)
    assert f"{cfg}:4:" in text and "threshold" in text and "between 1 and 1000" in text
    assert f"{cfg}:5:" in text and "between 60 and 604800" in text
    assert f"{cfg}:6:" in text and "thresold" in text
