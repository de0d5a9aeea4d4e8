"""Notification texts for people: Bahasa Indonesia by default, English by setting.

A message is built as plain lines; Telegram gets the same lines HTML-escaped with a bold title.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass

from netwatch.alerting import cause_texts, complaint_texts
from netwatch.alerting.causes import CAUSE_ALERTS
from netwatch.alerting.types import Alert, Event, Notification, Severity
from netwatch.core.i18n import (
    check_language,
    format_datetime,
    format_duration,
    format_time,
    join_list,
)

# Suspected causes: the engine writes Alert.cause as "key" or "key:argument"; unknown keys are
# shown as written, so a new cause never breaks a message.
CAUSES: dict[str, dict[str, str]] = {
    "power_outage": {
        "id": "listrik padam (semua perangkat desa mati bersamaan)",
        "en": "power outage (every device in the village went down at once)",
    },
    "all_devices_down": {
        "id": "semua perangkat desa mati bersamaan (kemungkinan listrik padam)",
        "en": "every device in the village down at once (power outage likely)",
    },
    "upstream_down": {
        "id": "gangguan di jaringan hulu ({arg})",
        "en": "upstream network failure ({arg})",
    },
    "router_down": {
        "id": "router desa mati atau hang",
        "en": "village router down or hung",
    },
    "ap_down": {"id": "access point mati", "en": "access point down"},
    "devices_down": {
        "id": "sebagian perangkat desa mati",
        "en": "some of the village's devices are down",
    },
    "device_down": {"id": "perangkat mati", "en": "device down"},
    "radio_down": {
        "id": "access point menjawab ping tetapi radio Wi-Fi-nya mati (SNMP)",
        "en": "access point answers ping but its Wi-Fi radio is off (SNMP)",
    },
    "high_loss": {
        "id": "banyak paket hilang di jalur ke desa",
        "en": "heavy packet loss on the path to the village",
    },
    "high_rtt": {
        "id": "latensi ke desa tinggi",
        "en": "high latency to the village",
    },
}

_T: dict[str, dict[str, str]] = {
    "id": {
        "down": "🔴 Wi-Fi desa MATI: {village}, Kec. {district} — sejak {since}.",
        "degraded": "🟠 Wi-Fi desa TERGANGGU: {village}, Kec. {district} — sejak {since}.",
        "upstream": "🔴 Gangguan hulu: {device}{where} mati — {count} desa terdampak: "
        "{villages}. Sejak {since}.",
        "generic": "🔴 {name}: {what} — sejak {since}.",
        "resolved_village": "✅ PULIH: Wi-Fi desa {village}, Kec. {district} kembali normal "
        "pukul {end} — durasi {duration}.",
        "resolved_upstream": "✅ PULIH: {device} kembali normal pukul {end}, {count} desa "
        "tersambung lagi — durasi {duration}.",
        "resolved_generic": "✅ PULIH: {name}: {what} kembali normal pukul {end} — durasi "
        "{duration}.",
        "reminder": "⏰ PENGINGAT: masih berlangsung sejak {since} (sudah {duration}) dan "
        "belum ditangani.",
        "escalation": "🚨 ESKALASI: belum ditangani setelah {duration}. Mohon segera dicek.",
        "flapping": "⚠️ TIDAK STABIL: Wi-Fi desa {village}, Kec. {district} naik-turun "
        "berulang kali sejak {since}.",
        "flapping_detail": "Tercatat {changes} kali berubah status. Notifikasi per perubahan "
        "ditahan sampai stabil.",
        "devices": "Perangkat tidak menjawab: {devices}.",
        "cause": "Dugaan penyebab: {cause}.",
        "path": "Jalur putus setelah: {hop}.",
        "ack": "Ditangani oleh: {who}.",
        "link": "Detail: {link}",
        "subj_down": "[MATI] {target}",
        "subj_degraded": "[TERGANGGU] {target}",
        "subj_upstream": "[GANGGUAN HULU] {device} — {count} desa",
        "subj_resolved": "[PULIH] {target}",
        "subj_reminder": "[PENGINGAT] {target}",
        "subj_escalation": "[ESKALASI] {target}",
        "subj_flapping": "[TIDAK STABIL] {target}",
    },
    "en": {
        "down": "🔴 Village Wi-Fi DOWN: {village}, {district} district — since {since}.",
        "degraded": "🟠 Village Wi-Fi DEGRADED: {village}, {district} district — since {since}.",
        "upstream": "🔴 Upstream failure: {device}{where} down — {count} villages affected: "
        "{villages}. Since {since}.",
        "generic": "🔴 {name}: {what} — since {since}.",
        "resolved_village": "✅ RESOLVED: village Wi-Fi {village}, {district} district back "
        "to normal at {end} — lasted {duration}.",
        "resolved_upstream": "✅ RESOLVED: {device} back to normal at {end}, {count} villages "
        "reconnected — lasted {duration}.",
        "resolved_generic": "✅ RESOLVED: {name}: {what} back to normal at {end} — lasted "
        "{duration}.",
        "reminder": "⏰ REMINDER: still ongoing since {since} ({duration} so far) and not "
        "acknowledged.",
        "escalation": "🚨 ESCALATION: not acknowledged after {duration}. Please check now.",
        "flapping": "⚠️ FLAPPING: village Wi-Fi {village}, {district} district keeps going "
        "down and up since {since}.",
        "flapping_detail": "{changes} state changes so far. Per-change notifications are held "
        "until it settles.",
        "devices": "Not answering: {devices}.",
        "cause": "Suspected cause: {cause}.",
        "path": "Path breaks after: {hop}.",
        "ack": "Acknowledged by: {who}.",
        "link": "Details: {link}",
        "subj_down": "[DOWN] {target}",
        "subj_degraded": "[DEGRADED] {target}",
        "subj_upstream": "[UPSTREAM DOWN] {device} — {count} villages",
        "subj_resolved": "[RESOLVED] {target}",
        "subj_reminder": "[REMINDER] {target}",
        "subj_escalation": "[ESCALATION] {target}",
        "subj_flapping": "[FLAPPING] {target}",
    },
}


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def html(self) -> str:
        return self.html_limited(None)

    def html_limited(self, limit: int | None) -> str:
        """Telegram HTML: every line escaped, the first one bold.

        limit caps the visible text (Telegram counts it after parsing): whole lines are
        dropped, or the line cut, before escaping, so no entity or tag is ever cut in half.
        """
        lines = list(self.lines)
        if limit is not None and len("\n".join(lines)) > limit:
            kept: list[str] = []
            used = 1  # the ellipsis
            for line in lines:
                if used + len(line) + (1 if kept else 0) > limit:
                    if not kept:
                        kept.append(line[: limit - 1])
                    break
                used += len(line) + (1 if kept else 0)
                kept.append(line)
            kept[-1] += "…"
            lines = kept
        escaped = [html.escape(line, quote=False) for line in lines]
        if escaped:
            escaped[0] = f"<b>{escaped[0]}</b>"
        return "\n".join(escaped)


def cause_text(cause: str | None, language: str) -> str | None:
    if not cause:
        return None
    key, _, arg = cause.partition(":")
    entry = CAUSES.get(key) or cause_texts.CAUSES.get(key)
    if entry is None:
        return cause
    return entry[language].format(arg=arg or "?")


def _village(alert: Alert) -> str:
    name = alert.labels.get("village_name") or alert.labels.get("village", "?")
    code = alert.labels.get("village")
    return f"{name} ({code})" if code and code != name else name


def _district(alert: Alert) -> str:
    return alert.labels.get("district_name") or alert.labels.get("district", "?")


def _where(alert: Alert, language: str) -> str:
    """(Kec. Pesanggaran) after a device name, when the alert names a district."""
    if "district_name" not in alert.labels and "district" not in alert.labels:
        return ""
    name = _district(alert)
    return f" (Kec. {name})" if language == "id" else f" ({name} district)"


def _kind(alert: Alert) -> str:
    if "village" in alert.labels:
        return "down" if alert.severity is Severity.CRITICAL else "degraded"
    if alert.affected_villages or "device" in alert.labels:
        return "upstream"
    return "generic"


def render(
    notification: Notification,
    language: str = "id",
    tz: str = "Asia/Jakarta",
    link_base_url: str = "",
    village_names: Mapping[str, str] | None = None,
) -> Message:
    """The subject and lines people read for one notification."""
    own = complaint_texts.render(notification, language, tz, link_base_url)
    if own is not None:  # residents' reports: words of their own (complaint_texts.py)
        return Message(*own)
    lang = check_language(language)
    t = _T[lang]
    alert = notification.alert
    if alert.name in CAUSE_ALERTS:  # they name the cause in their own words
        head, said = cause_texts.render(notification, lang, tz)
        if notification.event in (Event.REMINDER, Event.ESCALATION):
            ev = notification.event.value
            took = format_duration(notification.created_at - alert.starts_at, lang)
            since = format_datetime(alert.starts_at, lang, tz)
            said = [t[ev].format(since=since, duration=took), *said]
            head = t[f"subj_{ev}"].format(target=head)
        return _closing(Message(head, tuple(said)), t, alert, notification, link_base_url)
    kind = _kind(alert)
    names = village_names or {}
    device = alert.labels.get("device", "?")
    affected = [f"{names[c]} ({c})" if c in names else c for c in alert.affected_villages]
    fields = {
        "village": _village(alert),
        "district": _district(alert),
        "device": device,
        "count": str(len(alert.affected_villages)),
        "villages": join_list(affected, lang),
        "since": format_datetime(alert.starts_at, lang, tz),
        "name": alert.name,
        "where": _where(alert, lang),
        "what": alert.labels.get("summary") or ", ".join(alert.down_devices) or alert.name,
    }
    target = {
        "down": "{village}, {district}",
        "degraded": "{village}, {district}",
        "upstream": "{device}",
        "generic": "{name}",
    }[kind].format(**fields)
    if kind in ("down", "degraded"):
        target = f"{fields['village']}, Kec. {fields['district']}" if lang == "id" else target

    event = notification.event
    lines: list[str] = []
    if event is Event.RESOLVED:
        end = alert.ends_at if alert.ends_at is not None else notification.created_at
        res = {
            "end": format_time(end, tz),
            "duration": format_duration(end - alert.starts_at, lang),
            **fields,
        }
        key = {"upstream": "resolved_upstream", "generic": "resolved_generic"}.get(
            kind, "resolved_village"
        )
        lines.append(t[key].format(**res))
        subject = t["subj_resolved"].format(target=target)
    elif event is Event.FLAPPING and kind in ("down", "degraded"):
        lines.append(t["flapping"].format(**fields))
        if notification.extra.get("changes"):
            lines.append(t["flapping_detail"].format(changes=notification.extra["changes"]))
        subject = t["subj_flapping"].format(target=target)
    else:
        lines.append(t[kind].format(**fields))
        subject = t[f"subj_{kind}"].format(target=target, **fields)
        if event in (Event.REMINDER, Event.ESCALATION):
            # Elapsed as of the engine's decision, so a late retry still says the same.
            elapsed = format_duration(notification.created_at - alert.starts_at, lang)
            lines.insert(0, t[event.value].format(since=fields["since"], duration=elapsed))
            subject = t[f"subj_{event.value}"].format(target=target)
        elif event is Event.FLAPPING:
            subject = t["subj_flapping"].format(target=target)
    if event is not Event.RESOLVED:
        if alert.down_devices and kind != "generic":
            lines.append(t["devices"].format(devices=", ".join(alert.down_devices)))
        cause = cause_text(alert.cause, lang)
        if cause:
            lines.append(t["cause"].format(cause=cause))
        if alert.path_break:
            lines.append(t["path"].format(hop=alert.path_break))
    reports = complaint_texts.attached_line(alert, lang)
    if reports:
        lines.append(reports)
    if alert.acknowledged_by:
        lines.append(t["ack"].format(who=alert.acknowledged_by))
    link = notification.extra.get("link") or _link(link_base_url, alert)
    if link:
        lines.append(t["link"].format(link=link))
    return Message(subject=subject, lines=tuple(lines))


def _closing(
    message: Message, t: Mapping[str, str], alert: Alert, n: Notification, base: str
) -> Message:
    """A message with the acknowledgement and link lines every notification ends with."""
    lines = list(message.lines)
    if alert.acknowledged_by:
        lines.append(t["ack"].format(who=alert.acknowledged_by))
    link = n.extra.get("link") or _link(base, alert)
    if link:
        lines.append(t["link"].format(link=link))
    return Message(message.subject, tuple(lines))


def _link(base: str, alert: Alert) -> str | None:
    if not base:
        return None
    key = alert.labels.get("village") or alert.labels.get("device")
    return f"{base}{key}" if key else base
