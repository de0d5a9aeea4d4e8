"""Texts of the alerts that name the cause (causes.py): Bahasa Indonesia, English by setting.

A warning never says down or mati: it comes before a failure. messages.render hands these
kinds here and wraps the lines; the status page reads CAUSES through messages.cause_text.
"""

from __future__ import annotations

from netwatch.alerting.causes import (
    AP_LOST,
    NO_CLIENTS,
    ONU_OFFLINE,
    ONU_RX_LOW,
    RADIOS_DOWN,
    UPLINK_DOWN,
)
from netwatch.alerting.types import Alert, Event, Notification
from netwatch.core.i18n import format_datetime, format_duration, format_time

# Alert.cause keys ("key" or "key:argument") of these kinds, for messages.CAUSES (the ONU's
# reasons are in texts.CAUSES: the village alert names them too).
CAUSES: dict[str, dict[str, str]] = {
    "rx_low": {
        "id": "daya terima optik rendah ({arg} dBm)",
        "en": "low optical receive power ({arg} dBm)",
    },
    "uplink_port_down": {"id": "port uplink di POP mati", "en": "uplink port down at the POP"},
    "controller_lost": {
        "id": "AP terputus dari controller ({arg})",
        "en": "AP disconnected from its controller ({arg})",
    },
    "ap_radios_down": {
        "id": "radio Wi-Fi mati ({arg} menurut controller)",
        "en": "Wi-Fi radios down ({arg} by the controller)",
    },
    "no_clients": {
        "id": "semua klien hilang (DHCP atau captive portal?)",
        "en": "all clients gone (DHCP or captive portal?)",
    },
}

_ONU_CAUSE = {
    "dying_gasp": {"id": "dying gasp: listrik padam", "en": "dying gasp: power cut at the ONU"},
    "los": {"id": "loss of signal: kabel fiber putus", "en": "loss of signal: fibre cut"},
    "unknown": {"id": "OLT tidak menyebut sebabnya", "en": "the OLT gives no reason"},
}
_T = {
    "id": {
        ONU_OFFLINE: "🔴 ONU desa {village} offline di OLT {olt} {where} ({cause}) — sejak "
        "{since}.",
        ONU_RX_LOW: "🟠 Daya terima optik ONU desa {village} rendah: {rx} dBm di sisi {side} "
        "(batas {limit} dBm), OLT {olt} {where}. Sinyal fiber melemah: periksa konektor dan "
        "kabel sebelum putus. Sejak {since}.",
        UPLINK_DOWN: "🔴 Port uplink desa {village} di {device} {interface} mati (link down) — "
        "sejak {since}.",
        AP_LOST: "🔴 AP {device}{in_village} terputus dari controller {controller} (status: "
        "{state}) — sejak {since}.",
        RADIOS_DOWN: "🔴 Radio Wi-Fi AP {device}{in_village} mati: controller {controller} "
        "melaporkan {radios} radio mati — sejak {since}.",
        NO_CLIENTS: "🟠 AP {device}{in_village} menjawab dan radionya menyala, tetapi semua "
        "klien hilang pada jam kerja — kemungkinan DHCP atau captive portal bermasalah. Sejak "
        "{since}.",
        "resolved": "✅ PULIH: {what} — normal kembali pukul {end}, durasi {duration}.",
        "port": "port {pon} ONU {onu}",
        "named": "ONU {onu}",
        "in_village": " (desa {village})",
        "unknown_state": "tidak terdaftar",
        "subject": "[{tag}] {target}",
    },
    "en": {
        ONU_OFFLINE: "🔴 ONU of village {village} offline on OLT {olt} {where} ({cause}) — "
        "since {since}.",
        ONU_RX_LOW: "🟠 Optical receive power of village {village}'s ONU is low: {rx} dBm at "
        "the {side} side (threshold {limit} dBm), OLT {olt} {where}. The fibre is weakening: "
        "check connectors and cable before it fails. Since {since}.",
        UPLINK_DOWN: "🔴 Uplink port of village {village} on {device} {interface} is down "
        "(link down) — since {since}.",
        AP_LOST: "🔴 AP {device}{in_village} disconnected from controller {controller} "
        "(state: {state}) — since {since}.",
        RADIOS_DOWN: "🔴 Wi-Fi radios of AP {device}{in_village} down: controller {controller} "
        "reports {radios} radios down — since {since}.",
        NO_CLIENTS: "🟠 AP {device}{in_village} answers with its radios on, but all clients "
        "are gone during office hours — likely a broken DHCP server or captive portal. Since "
        "{since}.",
        "resolved": "✅ RESOLVED: {what} — back to normal at {end}, lasted {duration}.",
        "port": "port {pon} ONU {onu}",
        "named": "ONU {onu}",
        "in_village": " (village {village})",
        "unknown_state": "not listed",
        "subject": "[{tag}] {target}",
    },
}
_TAGS = {
    "id": {ONU_OFFLINE: "ONU OFFLINE", ONU_RX_LOW: "SINYAL FIBER LEMAH", UPLINK_DOWN: "UPLINK MATI",
           AP_LOST: "AP TERPUTUS", RADIOS_DOWN: "RADIO MATI", NO_CLIENTS: "TANPA KLIEN",
           "resolved": "PULIH"},
    "en": {ONU_OFFLINE: "ONU OFFLINE", ONU_RX_LOW: "WEAK FIBRE SIGNAL", UPLINK_DOWN: "UPLINK DOWN",
           AP_LOST: "AP DISCONNECTED", RADIOS_DOWN: "RADIOS DOWN", NO_CLIENTS: "NO CLIENTS",
           "resolved": "RESOLVED"},
}  # fmt: skip


def _village(alert: Alert) -> str:
    code = alert.labels.get("village", "")
    name = alert.labels.get("village_name")
    return f"{name} ({code})" if name and name != code else code or "?"


def render(notification: Notification, lang: str, tz: str) -> tuple[str, list[str]]:
    """(subject, lines) of one notification about a cause alert."""
    alert = notification.alert
    t = _T[lang]
    lab = alert.labels
    name = alert.name
    arg = (alert.cause or "").partition(":")[2]
    rx, _, limit = arg.partition("/")
    pon, onu = lab.get("pon"), lab.get("onu", "?")
    fields = {
        "village": _village(alert),
        "olt": lab.get("olt", "?"),
        "where": t["port"].format(pon=pon, onu=onu.rpartition(":")[2]) if pon
        else t["named"].format(onu=onu),
        "cause": _ONU_CAUSE.get(lab.get("cause", ""), {}).get(lang)
        or lab.get("cause", "?"),
        "rx": rx or "?",
        "limit": limit or "?",
        "side": lab.get("side", "?").upper(),
        "device": lab.get("device", "?"),
        "interface": lab.get("interface", "?"),
        "controller": lab.get("controller", "?"),
        "state": arg if arg and arg != "not listed" else t["unknown_state"],
        "radios": arg.replace("/", " / ") or "?",
        "in_village": t["in_village"].format(village=lab["village"]) if lab.get("village")
        else "",
        "since": format_datetime(alert.starts_at, lang, tz),
    }  # fmt: skip
    first = t[name].format(**fields)
    target = fields["village"] if "olt" in lab or name == UPLINK_DOWN else fields["device"]
    if notification.event is Event.RESOLVED:
        end = alert.ends_at if alert.ends_at is not None else notification.created_at
        what = first.split(" — ")[0].split(". ")[0].lstrip("🔴🟠 ")
        took = format_duration(end - alert.starts_at, lang)
        line = t["resolved"].format(what=what, end=format_time(end, tz), duration=took)
        return t["subject"].format(tag=_TAGS[lang]["resolved"], target=target), [line]
    return t["subject"].format(tag=_TAGS[lang][name], target=target), [first]
