"""The complaint warning's words in every event and language: the issue's sentence, never an
outage ("mati", "down"); and the complaint line that outage alerts carry."""

from __future__ import annotations

import pytest

from netwatch.alerting.messages import render
from netwatch.alerting.types import Alert, Event, Notification

LABELS = {
    "alertname": "VillageWifiComplaints",
    "severity": "warning",
    "village": "35.10.01.2001",
    "village_name": "Sarongan",
    "district": "35.10.01",
    "district_name": "Pesanggaran",
}
T0 = 1_795_835_100.0  # 2026-11-28 10:05 WIB


def note(event: Event, **alert: object) -> Notification:
    a = Alert(labels=dict(LABELS), starts_at=T0, complaints=3, **alert)  # type: ignore[arg-type]
    return Notification(f"n-{event}", event, a, T0 + 7200)


@pytest.mark.parametrize("event", list(Event))
@pytest.mark.parametrize("language", ["id", "en"])
def test_never_an_outage_in_any_event(event: Event, language: str) -> None:
    ends = T0 + 3600 if event is Event.RESOLVED else None
    msg = render(note(event, ends_at=ends, acknowledged_by="ana"), language, link_base_url="x/")
    words = (msg.subject + "\n" + msg.text).lower()
    for outage in ("mati", "down", "padam", "putus", "outage"):
        assert outage not in words, (event, language, msg)
    assert "Sarongan (35.10.01.2001)" in msg.text and "Pesanggaran" in msg.text
    assert msg.lines[-1].endswith("x/35.10.01.2001")


def test_firing_says_what_the_issue_asks_in_both_languages() -> None:
    msg = render(note(Event.FIRING), "id")
    assert msg.subject == "[LAPORAN WARGA] Sarongan (35.10.01.2001), Kec. Pesanggaran"
    assert msg.lines == (
        "🟠 LAPORAN WARGA: Sarongan (35.10.01.2001), Kec. Pesanggaran — sejak 28 Nov 2026 "
        "10:05 WIB.",
        "3 laporan: warga melaporkan Wi-Fi bermasalah, pengukuran normal: periksa DHCP/portal.",
    )
    en = render(note(Event.FIRING), "en")
    assert en.lines[1] == (
        "3 reports: residents report Wi-Fi problems, measurements normal: check DHCP/portal."
    )


def test_an_outage_alert_names_the_reports_attached() -> None:
    labels = {**LABELS, "alertname": "VillageWifiDown", "severity": "critical"}
    a = Alert(labels=labels, starts_at=T0, cause="router_down", complaints=4)
    msg = render(Notification("n", Event.REMINDER, a, T0 + 7200), "id")
    assert "Laporan warga terkait: 4." in msg.lines
    none = Alert(labels=labels, starts_at=T0, cause="router_down")
    assert not any(
        "Laporan" in line for line in render(Notification("n", Event.FIRING, none, T0)).lines
    )
