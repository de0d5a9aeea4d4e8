"""The words of notifications: one table entry per alert kind, cause and event, per language.

A new alert kind is one entry in KINDS per language (its title and the first line of each
event); a new cause is one entry in CAUSES per language. A warning's texts never say an
outage ("down", "mati"): tests/alerting/test_texts.py renders every combination and checks.
Fields: {village} {district} {device} {where} {count} {villages} {since} {end} {duration}
{name} {what}; {target} is the kind's target, filled in first.
"""

from __future__ import annotations

from typing import TypedDict


class KindText(TypedDict):
    target: str  # what the subject names
    subject: str  # the firing subject (the kind's own title)
    firing: str  # first line of firing, reminder, escalation and update notifications
    resolved: str
    flapping: str


KINDS: dict[str, dict[str, KindText]] = {
    "VillageWifiDown": {
        "id": {
            "target": "{village}, Kec. {district}",
            "subject": "[MATI] {target}",
            "firing": "🔴 Wi-Fi desa MATI: {village}, Kec. {district} — sejak {since}.",
            "resolved": "✅ PULIH: Wi-Fi desa {village}, Kec. {district} kembali normal pukul "
            "{end} — durasi {duration}.",
            "flapping": "⚠️ TIDAK STABIL: Wi-Fi desa {village}, Kec. {district} putus-sambung "
            "berulang kali sejak {since}.",
        },
        "en": {
            "target": "{village}, {district}",
            "subject": "[DOWN] {target}",
            "firing": "🔴 Village Wi-Fi DOWN: {village}, {district} district — since {since}.",
            "resolved": "✅ RESOLVED: village Wi-Fi {village}, {district} district back to "
            "normal at {end} — lasted {duration}.",
            "flapping": "⚠️ FLAPPING: village Wi-Fi {village}, {district} district keeps going "
            "down and up since {since}.",
        },
    },
    "VillageWifiDegraded": {
        "id": {
            "target": "{village}, Kec. {district}",
            "subject": "[TERGANGGU] {target}",
            "firing": "🟠 Wi-Fi desa TERGANGGU: {village}, Kec. {district} — sejak {since}. "
            "Layanan masih berjalan, tetapi tidak baik.",
            "resolved": "✅ PULIH: gangguan Wi-Fi desa {village}, Kec. {district} berakhir pukul "
            "{end} — durasi {duration}.",
            "flapping": "⚠️ TIDAK STABIL: gangguan Wi-Fi desa {village}, Kec. {district} datang "
            "dan pergi berulang kali sejak {since}.",
        },
        "en": {
            "target": "{village}, {district}",
            "subject": "[DEGRADED] {target}",
            "firing": "🟠 Village Wi-Fi DEGRADED: {village}, {district} district — since "
            "{since}. The service still runs, but poorly.",
            "resolved": "✅ RESOLVED: village Wi-Fi {village}, {district} district no longer "
            "degraded at {end} — lasted {duration}.",
            "flapping": "⚠️ FLAPPING: village Wi-Fi {village}, {district} district keeps turning "
            "degraded and back since {since}.",
        },
    },
    "UpstreamDown": {
        "id": {
            "target": "{device}",
            "subject": "[GANGGUAN HULU] {device} — {count} desa",
            "firing": "🔴 Gangguan hulu: {device}{where} mati — {count} desa terdampak: "
            "{villages}. Sejak {since}.",
            "resolved": "✅ PULIH: {device}{where} kembali normal pukul {end}, {count} desa "
            "tersambung lagi — durasi {duration}.",
            "flapping": "⚠️ TIDAK STABIL: {device}{where} putus-sambung berulang kali sejak "
            "{since} — {count} desa ikut terputus: {villages}.",
        },
        "en": {
            "target": "{device}",
            "subject": "[UPSTREAM DOWN] {device} — {count} villages",
            "firing": "🔴 Upstream failure: {device}{where} down — {count} villages affected: "
            "{villages}. Since {since}.",
            "resolved": "✅ RESOLVED: {device} back to normal at {end}, {count} villages "
            "reconnected — lasted {duration}.",
            "flapping": "⚠️ FLAPPING: {device}{where} keeps going down and up since {since} — "
            "{count} villages cut off with it: {villages}.",
        },
    },
    "UpstreamDegraded": {
        "id": {
            "target": "{device}",
            "subject": "[HULU TERGANGGU] {device} — {count} desa",
            "firing": "🟠 Jalur hulu terganggu: {device}{where} masih terhubung, tetapi "
            "kualitasnya buruk — {count} desa ikut terganggu: {villages}. Sejak {since}.",
            "resolved": "✅ PULIH: jalur hulu {device}{where} kembali normal pukul {end} — "
            "durasi {duration}.",
            "flapping": "⚠️ TIDAK STABIL: gangguan jalur hulu {device}{where} datang dan pergi "
            "berulang kali sejak {since}.",
        },
        "en": {
            "target": "{device}",
            "subject": "[UPSTREAM DEGRADED] {device} — {count} villages",
            "firing": "🟠 Upstream degraded: {device}{where} is connected but poor — {count} "
            "villages affected: {villages}. Since {since}.",
            "resolved": "✅ RESOLVED: upstream {device}{where} back to normal at {end} — lasted "
            "{duration}.",
            "flapping": "⚠️ FLAPPING: degradation of upstream {device}{where} keeps coming and "
            "going since {since}.",
        },
    },
}

# An alert kind without an entry (a new one, or from an older database): by severity.
FALLBACK: dict[str, dict[str, KindText]] = {
    "critical": {
        "id": {
            "target": "{name}",
            "subject": "[{name}] {what}",
            "firing": "🔴 {name}: {what} — sejak {since}.",
            "resolved": "✅ PULIH: {name}: {what} kembali normal pukul {end} — durasi {duration}.",
            "flapping": "⚠️ TIDAK STABIL: {name}: {what} berulang kali berubah sejak {since}.",
        },
        "en": {
            "target": "{name}",
            "subject": "[{name}] {what}",
            "firing": "🔴 {name}: {what} — since {since}.",
            "resolved": "✅ RESOLVED: {name}: {what} back to normal at {end} — lasted {duration}.",
            "flapping": "⚠️ FLAPPING: {name}: {what} keeps changing since {since}.",
        },
    },
}
FALLBACK["warning"] = {  # the same words, in a warning's colour
    lang: KindText(
        target=t["target"],
        subject=t["subject"],
        firing=t["firing"].replace("🔴", "🟠"),
        resolved=t["resolved"],
        flapping=t["flapping"],
    )
    for lang, t in FALLBACK["critical"].items()
}

# Lines and subjects every kind shares, per language.
EVENTS: dict[str, dict[str, str]] = {
    "id": {
        "subj_resolved": "[PULIH] {target}",
        "subj_resolved_flapping": "[PULIH · TIDAK STABIL] {target}",
        "subj_reminder": "[PENGINGAT] {subject}",
        "subj_escalation": "[ESKALASI] {subject}",
        "subj_flapping": "[TIDAK STABIL] {target}",
        "subj_update": "[DIAGNOSIS BARU] {subject}",
        "reminder": "⏰ PENGINGAT: masih berlangsung sejak {since} (sudah {duration}) dan "
        "belum ditangani.",
        "escalation": "🚨 ESKALASI: belum ditangani setelah {duration}. Mohon segera dicek.",
        "update": "🔄 DIAGNOSIS BARU. Sebelumnya: {previous}.",
        "flapping_detail": "Tercatat {changes} kali berubah status. Notifikasi per perubahan "
        "ditahan sampai stabil.",
        "resolved_flapping": "⚠️ Tidak stabil: {changes} kali berubah status. Notifikasi "
        "berikutnya ditahan sampai stabil.",
        "devices": "Perangkat tidak menjawab: {devices}.",
        "cause": "Dugaan penyebab: {cause}.",
        "path": "Jalur putus setelah: {hop}.",
        "ack": "Ditangani oleh: {who}.",
        "link": "Detail: {link}",
        "none": "tidak diketahui",
    },
    "en": {
        "subj_resolved": "[RESOLVED] {target}",
        "subj_resolved_flapping": "[RESOLVED · FLAPPING] {target}",
        "subj_reminder": "[REMINDER] {subject}",
        "subj_escalation": "[ESCALATION] {subject}",
        "subj_flapping": "[FLAPPING] {target}",
        "subj_update": "[NEW DIAGNOSIS] {subject}",
        "reminder": "⏰ REMINDER: still ongoing since {since} ({duration} so far) and not "
        "acknowledged.",
        "escalation": "🚨 ESCALATION: not acknowledged after {duration}. Please check now.",
        "update": "🔄 NEW DIAGNOSIS. Before: {previous}.",
        "flapping_detail": "{changes} state changes so far. Per-change notifications are held "
        "until it settles.",
        "resolved_flapping": "⚠️ Flapping: {changes} state changes. Further notifications are "
        "held until it settles.",
        "devices": "Not answering: {devices}.",
        "cause": "Suspected cause: {cause}.",
        "path": "Path breaks after: {hop}.",
        "ack": "Acknowledged by: {who}.",
        "link": "Details: {link}",
        "none": "unknown",
    },
}

# Suspected causes: the engine writes Alert.cause as "key" or "key:argument" (the devices it
# names); the argument follows the text in parentheses. An unknown key is shown as written.
CAUSES: dict[str, dict[str, str]] = {
    "power_outage": {
        "id": "listrik padam (semua perangkat desa mati bersamaan)",
        "en": "power outage (every device in the village went down at once)",
    },
    "all_devices_down": {
        "id": "semua perangkat desa mati bersamaan (kemungkinan listrik padam)",
        "en": "every device in the village down at once (power outage likely)",
    },
    "upstream_down": {"id": "gangguan di jaringan hulu", "en": "upstream network failure"},
    "router_down": {"id": "router desa mati atau hang", "en": "village router down or hung"},
    "ap_down": {"id": "access point mati", "en": "access point down"},
    "devices_down": {
        "id": "sebagian perangkat desa tidak menjawab",
        "en": "some of the village's devices do not answer",
    },
    "device_down": {
        "id": "perangkat tidak menjawab (mati atau jalurnya putus)",
        "en": "the device does not answer (dead or cut off)",
    },
    "radio_down": {
        "id": "access point menjawab ping tetapi radio Wi-Fi-nya nonaktif (SNMP)",
        "en": "access point answers ping but its Wi-Fi radio is off (SNMP)",
    },
    "high_loss": {"id": "banyak paket hilang di jalur", "en": "heavy packet loss on the path"},
    "high_rtt": {"id": "latensi tinggi di jalur", "en": "high latency on the path"},
    # The OLT's reason for the village's ONU offline (onu_join.py; argument: where the ONU is).
    "onu_dying_gasp": {"id": "dying gasp: listrik padam", "en": "dying gasp: power cut"},
    "onu_los": {"id": "loss of signal: kabel fiber putus", "en": "loss of signal: fibre cut"},
    "onu_unknown": {
        "id": "ONU offline, OLT tidak menyebut sebab",
        "en": "ONU offline, the OLT gives no reason",
    },
}
# A village down because its ONU is offline: the first line names the OLT's fact.
ONU_FIRING = {
    "id": "🔴 Wi-Fi desa MATI: {village}, Kec. {district}: ONU offline di OLT {onu} ({why}) "
    "— sejak {since}.",
    "en": "🔴 Village Wi-Fi DOWN: {village}, {district} district: ONU offline on OLT {onu} "
    "({why}) — since {since}.",
}
ONU_CAUSE = {"id": "ONU offline di OLT {where} ({why})", "en": "ONU offline on OLT {where} ({why})"}
