"""The public status page (Bahasa Indonesia by default) and its JSON API."""

from __future__ import annotations

import html
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone
from typing import TypedDict

from aiohttp import web

from netwatch.alerting.causes import CAUSE_ALERTS
from netwatch.alerting.kinds import VILLAGE_DOWN
from netwatch.alerting.messages import cause_text
from netwatch.alerting.muting import is_inhibited
from netwatch.alerting.onu_join import is_onu_cause
from netwatch.alerting.snapshot import AlertView
from netwatch.core import link_facts
from netwatch.core.model import OnuLink
from netwatch.core.plugins import Health
from netwatch.core.runtime import Runtime
from netwatch.core.state import State, VillageStatus

WIB = timezone(timedelta(hours=7), "WIB")

TEXT: dict[str, dict[str, str]] = {
    "id": {
        "title": "Status Wi-Fi Gratis Desa",
        "regency": "Kabupaten {name}",
        "city": "Kota {name}",
        "province": "Provinsi {name}",
        "regencies": "{n} Kabupaten/Kota",
        "regency column": "Kabupaten/Kota",
        "district": "Kecamatan",
        "village": "Desa/Kelurahan",
        "status": "Status",
        "problem": "Keterangan",
        "since": "Sejak",
        "updated": "Diperbarui",
        "up": "Aktif",
        "degraded": "Terganggu",
        "down": "Mati",
        "unknown": "Belum diketahui",
        "no reply": "tidak menjawab ping",
        "radio down": "radio Wi-Fi mati (SNMP)",
        "service failed": "layanan gagal",
        "refresh": "Halaman ini diperbarui otomatis setiap 30 detik.",
    },
    "en": {
        "title": "Village Free Wi-Fi Status",
        "regency": "{name} Regency",
        "city": "{name} City",
        "province": "{name} Province",
        "regencies": "{n} regencies and cities",
        "regency column": "Regency/City",
        "district": "District",
        "village": "Village",
        "status": "Status",
        "problem": "Details",
        "since": "Since",
        "updated": "Updated",
        "up": "Up",
        "degraded": "Degraded",
        "down": "Down",
        "unknown": "Unknown",
        "no reply": "does not answer ping",
        "radio down": "Wi-Fi radio is off (SNMP)",
        "service failed": "service failed",
        "refresh": "This page refreshes itself every 30 seconds.",
    },
}

_COLOURS = {"up": "#1a7f37", "degraded": "#b35900", "down": "#c62828", "unknown": "#6e7781"}


class DownDevice(TypedDict):
    """A device of a village that is not OK, as /api/v1/villages lists it."""

    device: str
    role: str
    reason: str
    since: float


class CauseLine(TypedDict):
    """An open alert that names a cause (ONU, uplink port, controller...), for its village."""

    alert: str
    severity: str
    device: str  # who reports it: the OLT, the POP device, the AP
    cause: str  # the engine's cause ("onu_dying_gasp", "controller_lost:disconnected")
    since: float


class OnuRow(TypedDict):
    """The village's ONU as its OLT reports it (inventory `onu:`)."""

    olt: str
    onu: str
    up: bool
    state: str
    cause: str  # why it is offline ("" while online)
    rx_onu_dbm: float | None
    rx_olt_dbm: float | None
    name: str  # its description on the OLT ("" where the profile reads none)
    serial: str  # its GPON serial as the OLT reports it


class VillageRow(TypedDict):
    """One village of /api/v1/villages (and a row of the status page)."""

    village: str
    village_name: str
    district: str
    district_name: str
    regency: str
    regency_name: str
    kind: str
    latitude: float | None
    longitude: float | None
    status: str
    down_devices: list[DownDevice]
    causes: list[CauseLine]
    onu: OnuRow | None


def _cause_lines(alerts: Iterable[AlertView]) -> dict[str, list[CauseLine]]:
    out: dict[str, list[CauseLine]] = {}
    for a in alerts:
        lab = a.labels
        if is_inhibited(a.suppressed_by):
            continue  # the open alert that inhibits it has the village's line (muting.py)
        if lab.get("alertname") == VILLAGE_DOWN and is_onu_cause(a.cause) and lab.get("village"):
            # The village's own alert names its ONU (onu_join.py): one line, the OLT reports it.
            olt = (a.cause or "").partition(":")[2].partition(" ")[0]
            out.setdefault(lab["village"], []).append(
                {"alert": VILLAGE_DOWN, "severity": lab.get("severity", ""), "device": olt,
                 "cause": a.cause or "", "since": a.starts_at}
            )  # fmt: skip
        elif lab.get("alertname") in CAUSE_ALERTS and lab.get("village"):
            out.setdefault(lab["village"], []).append(
                {"alert": lab["alertname"], "severity": lab.get("severity", ""),
                 "device": lab.get("olt") or lab.get("device", ""), "cause": a.cause or "",
                 "since": a.starts_at}
            )  # fmt: skip
    return out


def _onu(state: State, link: OnuLink | None) -> OnuRow | None:
    ds = state.devices.get(link.olt) if link is not None else None
    facts = link_facts.of_state(ds) if ds is not None else None
    got = link_facts.onu(facts, link) if facts is not None and link is not None else None
    if got is None or link is None:
        return None
    return {"olt": link.olt, "onu": link.describe(), "up": got.up, "state": got.state,
            "cause": "" if got.up else got.cause, "rx_onu_dbm": got.rx_onu,
            "rx_olt_dbm": got.rx_olt, "name": got.name, "serial": got.serial}  # fmt: skip


def villages_json(state: State, alerts: Iterable[AlertView] = ()) -> list[VillageRow]:
    """Every village with its status, the devices that are down and the causes alerts name."""
    causes = _cause_lines(alerts)
    inv = state.inventory
    out: list[VillageRow] = []
    regencies = {r.code: r for r in map(inv.regency_of, inv.districts)}
    for code, village in inv.villages.items():
        district = inv.districts[village.district]
        regency = regencies[district.regency]
        down: list[DownDevice] = []
        for name in village.devices:
            ds = state.devices.get(name)
            if ds is None:
                continue
            verdict = ds.verdict()
            if verdict is None or verdict.health is Health.OK:
                continue
            # Down, an AP that answers but serves no Wi-Fi, or a service of it failing.
            since = verdict.since or ds.since
            down.append(
                {"device": name, "role": ds.device.role.value, "reason": verdict.reason,
                 "since": since}
            )  # fmt: skip
        out.append(
            {
                "village": code,
                "village_name": village.name,
                "district": district.code,
                "district_name": district.name,
                "regency": regency.code,
                "regency_name": regency.name,
                "kind": village.kind.value,
                "latitude": village.lat,
                "longitude": village.lon,
                "status": state.village_status(code).value,
                "down_devices": down,
                "causes": causes.get(code, []),
                "onu": _onu(state, village.onu),
            }
        )
    return out


def _scope(state: State, t: dict[str, str]) -> str:
    """What the page covers: one regency or city, a province, or several regencies."""
    inv = state.inventory
    codes = sorted({d.regency for d in inv.districts.values()}) or [inv.regency_code]
    if len(codes) == 1:
        regency = inv.regency_of(codes[0])
        kota = regency.code[3:5] >= "71"  # Kemendagri: 01-69 kabupaten, 71-99 kota
        return t["city" if kota else "regency"].format(name=regency.name or regency.code)
    provinces = {c[:2] for c in codes}
    name = inv.province_name(codes[0]) if len(provinces) == 1 else ""
    return t["province"].format(name=name) if name else t["regencies"].format(n=len(codes))


def _reason(t: dict[str, str], reason: str) -> str:
    """A reason in the page's language; "service failed: portal" keeps its service names."""
    head, sep, rest = reason.partition(": ")
    if sep and head == "service failed":
        return f"{t[head]}: {rest}"
    return t.get(reason, reason)


def _fmt_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(WIB).strftime("%d-%m-%Y %H:%M WIB")


def _colour_css() -> str:
    return "".join(f".{k}{{--c:{v}}}" for k, v in _COLOURS.items())


# Static, so the admin listener's Content-Security-Policy can allow it by its hash alone.
STYLE = (
    "\nbody{font-family:system-ui,sans-serif;margin:1.5rem;color:#1f2328}\n"
    f"h1{{font-size:1.4rem}} {_colour_css()}\n"
    "ul.summary{display:flex;gap:1rem;list-style:none;padding:0;flex-wrap:wrap}\n"
    "ul.summary li{border-left:.4rem solid var(--c);padding:.4rem .8rem;background:#f6f8fa}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "td,th{padding:.3rem .5rem;border-bottom:1px solid #d0d7de;text-align:left}\n"
    ".badge{color:#fff;background:var(--c);border-radius:.3rem;padding:.1rem .4rem}\n"
    "small{color:#57606a}\n"
)


def render(state: State, lang: str, alerts: Iterable[AlertView] = ()) -> str:
    t = TEXT.get(lang, TEXT["id"])
    words = "en" if lang == "en" else "id"
    rows = villages_json(state, alerts)
    counts = {s.value: 0 for s in VillageStatus}
    for r in rows:
        counts[r["status"]] += 1
    order = {"down": 0, "degraded": 1, "unknown": 2, "up": 3}
    several = len({r["regency"] for r in rows}) > 1
    rows.sort(
        key=lambda r: (
            order[r["status"]],
            r["regency_name"] if several else "",
            r["district_name"],
            r["village_name"],
        )
    )
    scope = _scope(state, t)
    e = html.escape
    summary = "".join(
        f'<li class="{s}"><strong>{counts[s]}</strong> {e(t[s])}</li>'
        for s in ("up", "degraded", "down", "unknown")
    )
    body = []
    for r in rows:
        problems = "; ".join(
            [f"{e(d['device'])}: {e(_reason(t, d['reason']))}" for d in r["down_devices"]]
            + [f"{e(c['device'])}: {e(cause_text(c['cause'], words) or c['cause'])}"
               for c in r["causes"]]
        )  # fmt: skip
        since = min([d["since"] for d in r["down_devices"]] + [c["since"] for c in r["causes"]],
                    default=None)  # fmt: skip
        where = f"<td>{e(r['regency_name'] or r['regency'])}</td>" if several else ""
        body.append(
            f'<tr class="{r["status"]}">{where}<td>{e(r["district_name"])}</td>'
            f"<td>{e(r['village_name'])} <small>{e(r['village'])}</small></td>"
            f'<td><span class="badge {r["status"]}">{e(t[r["status"]])}</span></td>'
            f"<td>{problems}</td><td>{_fmt_time(since) if since else ''}</td></tr>"
        )
    regency_head = f"<th>{e(t['regency column'])}</th>" if several else ""
    return f"""<!doctype html>
<html lang="{e(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>{e(t["title"])} — {e(scope)}</title>
<style>{STYLE}</style></head><body>
<h1>{e(t["title"])} — {e(scope)}</h1>
<ul class="summary" id="summary">{summary}</ul>
<table id="villages"><thead><tr>{regency_head}<th>{e(t["district"])}</th><th>{e(t["village"])}</th>
<th>{e(t["status"])}</th><th>{e(t["problem"])}</th><th>{e(t["since"])}</th></tr></thead>
<tbody>{"".join(body)}</tbody></table>
<p><small>{e(t["updated"])}: {_fmt_time(time.time())}. {e(t["refresh"])}</small></p>
</body></html>"""


def routes(runtime: Runtime) -> list[web.RouteDef]:
    def alerts() -> tuple[AlertView, ...]:
        return runtime.alerts.snapshot().alerts if runtime.alerts is not None else ()

    async def page(request: web.Request) -> web.Response:
        lang = request.query.get("lang") or runtime.inventory.settings.language
        text = render(runtime.state, lang, alerts())
        return web.Response(text=text, content_type="text/html")

    async def api_villages(_: web.Request) -> web.Response:
        return web.json_response(villages_json(runtime.state, alerts()))

    return [web.get("/", page), web.get("/api/v1/villages", api_villages)]
