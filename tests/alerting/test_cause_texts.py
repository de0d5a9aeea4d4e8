"""Texts of the cause alerts: every kind in both languages, warnings never say down or mati,
reminders and resolutions keep the cause, the link line is appended."""

from __future__ import annotations

import re

import pytest

from netwatch.alerting.messages import render
from netwatch.alerting.types import Alert, Event, Notification

T0 = 1_796_000_000.0  # 2026-12-02 ~03:33 UTC
VILLAGE = {"village": "35.10.01.2001", "village_name": "Sarongan", "district": "35.10.01",
           "district_name": "Pesanggaran"}  # fmt: skip
ONU = {"olt": "olt-1", "onu": "0/1/3:5", "pon": "0/1/3"}
ALERTS = {
    "VillageOnuOffline": ("critical", {**VILLAGE, **ONU, "cause": "dying_gasp"}, "onu_dying_gasp"),
    "VillageOnuRxLow": ("warning", {**VILLAGE, **ONU, "side": "onu", "cause": "rx_low"},
                        "rx_low:-28.4/-27"),
    "VillageUplinkDown": ("critical", {**VILLAGE, "device": "pop-1", "interface": "ether5",
                                       "cause": "uplink_port_down"}, "uplink_port_down"),
    "ApControllerLost": ("critical", {"device": "balai-ap", "village": "35.10.01.2001",
                                      "controller": "wlc-1", "cause": "controller_lost"},
                         "controller_lost:Disconnect"),
    "ApRadiosDown": ("critical", {"device": "balai-ap", "village": "35.10.01.2001",
                                  "controller": "wlc-1", "cause": "radio_down"},
                     "ap_radios_down:2/2"),
    "ApNoClients": ("warning", {"device": "balai-ap", "village": "35.10.01.2001",
                                "cause": "no_clients"}, "no_clients"),
}  # fmt: skip


def note(name: str, event: Event = Event.FIRING, at: float = T0 + 600) -> Notification:
    severity, labels, cause = ALERTS[name]
    alert = Alert({"alertname": name, "severity": severity, **labels}, T0, cause=cause,
                  ends_at=at if event is Event.RESOLVED else None)  # fmt: skip
    return Notification(f"{name}-{event.value}", event, alert, at)


@pytest.mark.parametrize("name", sorted(ALERTS))
@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_kind_has_its_own_text(name: str, lang: str) -> None:
    m = render(note(name), lang, link_base_url="https://noc.example/desa/")
    assert m.lines[0].startswith(("🔴", "🟠")) and "{" not in m.text and "?" not in m.lines[0]
    assert m.lines[-1].startswith(("Detail: https://noc.example/desa/",
                                   "Details: https://noc.example/desa/"))  # fmt: skip
    if ALERTS[name][0] == "warning":
        assert not re.search(r"\bmati\b|\bdown\b", m.text + m.subject, re.I), m.text


def test_the_issue_s_words() -> None:
    text = render(note("VillageOnuOffline"), "id").text
    assert "ONU desa Sarongan (35.10.01.2001) offline di OLT olt-1 port 0/1/3 ONU 5" in text
    assert "(dying gasp: listrik padam)" in text
    assert "-28.4 dBm di sisi ONU (batas -27 dBm)" in render(note("VillageOnuRxLow"), "id").text
    assert "terputus dari controller wlc-1 (status: Disconnect)" in (
        render(note("ApControllerLost"), "id").text
    )


def test_reminder_and_resolved_keep_the_cause() -> None:
    m = render(note("VillageOnuOffline", Event.REMINDER, T0 + 7200), "id")
    assert m.lines[0].startswith("⏰ PENGINGAT") and "dying gasp: listrik padam" in m.lines[1]
    assert m.subject.startswith("[PENGINGAT] [ONU OFFLINE]")
    r = render(note("VillageOnuOffline", Event.RESOLVED, T0 + 900), "en")
    assert r.subject == "[RESOLVED] Sarongan (35.10.01.2001)"
    assert r.lines[0].startswith("✅ RESOLVED: ONU of village Sarongan") and "15 min" in r.text
