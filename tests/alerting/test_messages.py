"""Texts people read: Indonesian by default, English by setting, times in WIB."""

from __future__ import annotations

import pytest

from netwatch.alerting.messages import render
from netwatch.alerting.types import Alert, Event, Notification
from netwatch.core.i18n import format_duration
from tests.alerting.factories import STARTS, village_alert


def n(event: Event, alert: Alert, created_at: float = STARTS + 60, **kw) -> Notification:
    return Notification(id="m", event=event, alert=alert, created_at=created_at, **kw)


def test_village_down_indonesian() -> None:
    alert = village_alert(
        cause="upstream_down:pesanggaran-pop",
        down_devices=("sarongan-router", "sarongan-ap1"),
        path_break="pesanggaran-pop",
    )
    msg = render(n(Event.FIRING, alert), link_base_url="https://noc.example/desa/")
    assert msg.lines == (
        "🔴 Wi-Fi desa MATI: Sarongan (35.10.01.2001), Kec. Pesanggaran — sejak 28 Nov 2026 "
        "10:05 WIB.",
        "Perangkat tidak menjawab: sarongan-router, sarongan-ap1.",
        "Dugaan penyebab: gangguan di jaringan hulu (pesanggaran-pop).",
        "Jalur putus setelah: pesanggaran-pop.",
        "Detail: https://noc.example/desa/35.10.01.2001",
    )


def test_resolved_duration_both_languages() -> None:
    alert = village_alert(ends_at=STARTS + 12 * 60)
    assert render(n(Event.RESOLVED, alert)).text == (
        "✅ PULIH: Wi-Fi desa Sarongan (35.10.01.2001), Kec. Pesanggaran kembali normal pukul "
        "10:17 WIB — durasi 12 menit."
    )
    assert render(n(Event.RESOLVED, alert), "en").subject == (
        "[RESOLVED] Sarongan (35.10.01.2001), Pesanggaran"
    )


def test_root_cause_lists_villages_by_name() -> None:
    alert = Alert(
        labels={
            "alertname": "UpstreamDown",
            "severity": "critical",
            "device": "pesanggaran-pop",
            "district": "35.10.01",
            "district_name": "Pesanggaran",
        },
        starts_at=STARTS,
        affected_villages=("35.10.01.2001", "35.10.01.2002"),
    )
    names = {"35.10.01.2001": "Sarongan", "35.10.01.2002": "Kandangan"}
    msg = render(n(Event.FIRING, alert), village_names=names)
    assert msg.lines[0] == (
        "🔴 Gangguan hulu: pesanggaran-pop (Kec. Pesanggaran) mati — 2 desa terdampak: "
        "Sarongan (35.10.01.2001), Kandangan (35.10.01.2002). Sejak 28 Nov 2026 10:05 WIB."
    )
    assert msg.subject == "[GANGGUAN HULU] pesanggaran-pop — 2 desa"


def test_reminder_says_how_long() -> None:
    msg = render(n(Event.REMINDER, village_alert(), created_at=STARTS + 2 * 3600 + 600))
    assert msg.lines[0] == (
        "⏰ PENGINGAT: masih berlangsung sejak 28 Nov 2026 10:05 WIB (sudah 2 jam 10 menit) "
        "dan belum ditangani."
    )


def test_html_escapes_every_line() -> None:
    alert = village_alert(name="Sumber<Rejo> & Co")
    html = render(n(Event.FIRING, alert)).html
    assert html.startswith("<b>🔴 Wi-Fi desa MATI: Sumber&lt;Rejo&gt; &amp; Co (35.10.01.2001)")
    assert "<Rejo>" not in html


@pytest.mark.parametrize(
    ("seconds", "id_text", "en_text"),
    [
        (30, "kurang dari 1 menit", "less than a minute"),
        (60, "1 menit", "1 minute"),
        (3900, "1 jam 5 menit", "1 hour 5 minutes"),
        (2 * 86400 + 3 * 3600 + 59, "2 hari 3 jam", "2 days 3 hours"),
    ],
)
def test_durations(seconds: float, id_text: str, en_text: str) -> None:
    assert format_duration(seconds, "id") == id_text
    assert format_duration(seconds, "en") == en_text


def test_unknown_language_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unsupported language 'fr'"):
        render(n(Event.FIRING, village_alert()), "fr")


def test_all_devices_down_cause_english() -> None:
    alert = village_alert(cause="all_devices_down")
    lines = render(n(Event.FIRING, alert), "en").lines
    assert (
        "Suspected cause: every device in the village down at once (power outage likely)." in lines
    )


def test_html_limit_cuts_whole_lines_before_escaping() -> None:
    from netwatch.alerting.messages import Message

    msg = Message("s", ("A & B", "x" * 10, "<tail>"))
    assert msg.html_limited(None) == "<b>A &amp; B</b>\n" + "x" * 10 + "\n&lt;tail&gt;"
    # "A & B\n" + 10 x = 16 visible characters; the ellipsis takes the 17th.
    assert msg.html_limited(17) == "<b>A &amp; B</b>\n" + "x" * 10 + "…"
    assert msg.html_limited(4) == "<b>A &…</b>".replace("&", "&amp;")
