"""The words of VillageWifiComplaints, and the complaint line other alerts carry (id / en).

A warning about residents' reports while the measurements say up: its texts never say an
outage ("mati", "down"); tests/alerting/test_complaint_texts.py renders every event and checks.
messages.render hands these notifications here; this module imports nothing of it.
"""

from __future__ import annotations

from netwatch.alerting.types import Alert, Event, Notification
from netwatch.core.i18n import check_language, format_datetime, format_duration, format_time

KIND = "VillageWifiComplaints"  # alerting.correlation.VILLAGE_COMPLAINTS

WORDS: dict[str, dict[str, str]] = {
    "id": {
        "subject": "[LAPORAN WARGA] {target}",
        "firing": "🟠 LAPORAN WARGA: {village}, Kec. {district} — sejak {since}.",
        "why": "{count} laporan: warga melaporkan Wi-Fi bermasalah, pengukuran normal: "
        "periksa DHCP/portal.",
        "resolved": "✅ SELESAI: laporan warga {village}, Kec. {district} tidak berlanjut "
        "(tidak ada laporan terbuka baru) pukul {end} — durasi {duration}.",
        "subj_resolved": "[SELESAI] {target}",
        "reminder": "⏰ PENGINGAT: laporan warga masih terbuka sejak {since} (sudah {duration}) "
        "dan belum ditangani.",
        "subj_reminder": "[PENGINGAT] {target}",
        "escalation": "🚨 ESKALASI: laporan warga belum ditangani setelah {duration}. Mohon "
        "segera dicek.",
        "subj_escalation": "[ESKALASI] {target}",
        "flapping": "⚠️ TIDAK STABIL: laporan warga {village}, Kec. {district} datang dan pergi "
        "berulang kali sejak {since}.",
        "subj_flapping": "[TIDAK STABIL] {target}",
        "target": "{village}, Kec. {district}",
        "ack": "Ditangani oleh: {who}.",
        "link": "Detail: {link}",
        "attached": "Laporan warga terkait: {count}.",
    },
    "en": {
        "subject": "[RESIDENTS' REPORTS] {target}",
        "firing": "🟠 RESIDENTS' REPORTS: {village}, {district} district — since {since}.",
        "why": "{count} reports: residents report Wi-Fi problems, measurements normal: "
        "check DHCP/portal.",
        "resolved": "✅ RESOLVED: residents' reports for {village}, {district} district have "
        "stopped (no open report left) at {end} — lasted {duration}.",
        "subj_resolved": "[RESOLVED] {target}",
        "reminder": "⏰ REMINDER: residents' reports still open since {since} ({duration} so "
        "far) and not acknowledged.",
        "subj_reminder": "[REMINDER] {target}",
        "escalation": "🚨 ESCALATION: residents' reports not acknowledged after {duration}. "
        "Please check now.",
        "subj_escalation": "[ESCALATION] {target}",
        "flapping": "⚠️ FLAPPING: residents' reports for {village}, {district} district keep "
        "coming and going since {since}.",
        "subj_flapping": "[FLAPPING] {target}",
        "target": "{village}, {district} district",
        "ack": "Acknowledged by: {who}.",
        "link": "Details: {link}",
        "attached": "Residents' reports attached: {count}.",
    },
}


def attached_line(alert: Alert, language: str) -> str | None:
    """'Laporan warga terkait: 4.' on an outage alert that residents' reports were attached to."""
    if alert.complaints <= 0 or alert.name == KIND:
        return None
    return WORDS[check_language(language)]["attached"].format(count=alert.complaints)


def render(
    n: Notification, language: str, tz: str, link_base_url: str
) -> tuple[str, tuple[str, ...]] | None:
    """(subject, lines) of a VillageWifiComplaints notification; None for any other kind."""
    alert = n.alert
    if alert.name != KIND:
        return None
    lang = check_language(language)
    w = WORDS[lang]
    code = alert.labels.get("village", "?")
    name = alert.labels.get("village_name") or code
    fields = {
        "village": f"{name} ({code})" if name != code else name,
        "district": alert.labels.get("district_name") or alert.labels.get("district", "?"),
        "since": format_datetime(alert.starts_at, lang, tz),
        "count": str(alert.complaints),
    }
    target = w["target"].format(**fields)
    lines: list[str] = []
    if n.event is Event.RESOLVED:
        end = alert.ends_at if alert.ends_at is not None else n.created_at
        duration = format_duration(end - alert.starts_at, lang)
        lines.append(w["resolved"].format(end=format_time(end, tz), duration=duration, **fields))
        subject = w["subj_resolved"].format(target=target)
    elif n.event is Event.FLAPPING:
        lines.append(w["flapping"].format(**fields))
        subject = w["subj_flapping"].format(target=target)
    else:
        subject = w["subject"].format(target=target)
        if n.event in (Event.REMINDER, Event.ESCALATION):
            elapsed = format_duration(n.created_at - alert.starts_at, lang)
            lines.append(w[n.event.value].format(duration=elapsed, **fields))
            subject = w[f"subj_{n.event.value}"].format(target=target)
        lines += [w["firing"].format(**fields), w["why"].format(**fields)]
    if alert.acknowledged_by:
        lines.append(w["ack"].format(who=alert.acknowledged_by))
    link = n.extra.get("link") or (f"{link_base_url}{code}" if link_base_url else "")
    if link:
        lines.append(w["link"].format(link=link))
    return subject, tuple(lines)
