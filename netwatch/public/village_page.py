"""The village page: state now in plain words, uptime, the 90-day bar, incidents, hours, reports."""

from __future__ import annotations

from netwatch.core.i18n import format_duration
from netwatch.public.html import Ctx, e, hours_text, layout
from netwatch.public.texts import cause_words
from netwatch.public.view import Day, Incident, VillageView

PARTIAL = 0.99  # a day at or above this (but below 100%) had a short outage


def day_class(d: Day) -> str:
    if d.uptime is None:
        return "none"
    if d.uptime >= 1.0:
        return "full"
    return "partial" if d.uptime >= PARTIAL else "bad"


def _overlapping(v: VillageView, d: Day) -> list[Incident]:
    end = v.days[-1].end
    return [i for i in v.incidents if i.start < d.end and (i.end or end) > d.start]


def _incident_text(c: Ctx, i: Incident) -> str:
    t = c.t
    what = f"{t['kind.' + i.kind]}, {cause_words(i.cause, c.lang)}"
    if i.end is None:
        return f"{c.when(i.start)} – {t['ongoing']}: {what}"
    dur = format_duration(i.end - i.start, c.lang)
    span = t["lasted"].format(**{"from": c.when(i.start), "to": c.when(i.end), "dur": dur})
    return f"{span}: {what}"


def _now_box(c: Ctx, v: VillageView) -> str:
    t = c.t
    lines = [f'<strong id="state">{c.state(v.state)} {e(t["state." + v.state])}</strong>']
    if v.since is not None:
        lines.append(f"<p>{e(t['since'].format(when=c.when(v.since), ago=c.ago(v.since)))}</p>")
    if v.cause is not None:
        lines.append(f"<p>{e(t['cause'].format(cause=cause_words(v.cause, c.lang)))}</p>")
    if v.state in ("down", "degraded"):
        key = "known" if v.outage_known else "detected"
        lines.append(f'<p id="known">{e(t[key])}</p>')
    elif v.reports.last_24h:
        lines.append(f'<p id="known">{e(t["measured_ok"])}</p>')
    r = v.reports
    if r.last_24h and r.last_at is not None:
        text = t["reports"].format(n=r.last_24h, when=c.when(r.last_at))
    else:
        text = t["no_reports"]
    lines.append(f'<p id="reports">{e(text)} ')
    lines.append(f'<a href="{e(c.href(f"/{v.code}/lapor"))}">{e(t["report_link"])}</a></p>')
    return f'<div class="now {v.state}">{"".join(lines)}</div>'


def _uptime(c: Ctx, v: VillageView) -> str:
    t = c.t
    cells = "".join(
        f"<div><dt>{e(t[k])}</dt><dd>{e(c.pct(r))}</dd></div>"
        for k, r in zip(("today", "days7", "days30", "days90"), v.uptime, strict=True)
    )
    return f'<h2>{e(t["uptime"])}</h2><dl class="uptime" id="uptime">{cells}</dl>'


def _day_label(c: Ctx, d: Day, n: int) -> str:
    date = c.when(d.start).rsplit(" ", 2)[0]  # "12 Mei 2026"
    if d.uptime is None:
        return c.t["day_none"].format(date=date)
    if n == 0 and d.uptime >= 1.0:
        return c.t["day_ok"].format(date=date, pct=c.pct(d.uptime))
    return c.t["day_out"].format(date=date, pct=c.pct(d.uptime), n=n)


def _bar(c: Ctx, v: VillageView) -> tuple[str, str]:
    """The 90-day bar and the per-day details its cells link to."""
    t = c.t
    cells, details = [], []
    for d in v.days:
        incidents = _overlapping(v, d)
        label = _day_label(c, d, len(incidents))
        cls = day_class(d)
        if incidents or cls in ("partial", "bad"):
            anchor = f"d-{d.date}"
            cells.append(
                f'<li><a class="d-{cls}" href="#{anchor}" aria-label="{e(label)}">'
                f'<span class="tip" aria-hidden="true">{e(label)}</span></a></li>'
            )
            items = "".join(f"<li>{e(_incident_text(c, i))}</li>" for i in incidents)
            details.append(f'<li id="{anchor}">{e(label)}<ul>{items}</ul></li>')
        else:
            cells.append(f'<li><span class="c d-{cls}" title="{e(label)}"></span></li>')
    legend = "".join(
        f'<li><i class="d-{k}"></i>{e(t["bar_legend." + k])}</li>'
        for k in ("full", "partial", "bad", "none")
    )
    bar = (
        f'<h2 id="bar-h">{e(t["bar"])}</h2><p class="muted">{e(t["bar_help"])}</p>'
        f'<ol class="bar" id="bar" aria-labelledby="bar-h">{"".join(cells)}</ol>'
        f'<ul class="legend">{legend}</ul>'
    )
    return bar, "".join(reversed(details))


def village_page(c: Ctx, code: str) -> str:
    v = c.view.villages[code]
    d = c.view.districts[v.district]
    r = c.view.regencies[v.regency]
    t = c.t
    title = t[v.kind].format(name=v.name)
    bar, days = _bar(c, v)
    recent = "".join(f"<li>{e(_incident_text(c, i))}</li>" for i in v.incidents[:10])
    incidents = f'<ul id="incidents">{recent}</ul>' if recent else f"<p>{e(t['no_incidents'])}</p>"
    if days:
        # Closed until a cell of the bar links into it (browsers open it for the fragment).
        incidents += (
            f'<details id="days-box"><summary>{e(t["days_with"])}</summary>'
            f'<ul id="days">{days}</ul></details>'
        )
    ahead = "".join(
        f"<li>{e(c.when(a))} – {e(c.when(b))}: {e(t['state.maintenance'])}</li>"
        for a, b in v.maintenance
    )
    maintenance = (
        f'<ul id="maintenance">{ahead}</ul>' if ahead else f"<p>{e(t['no_maintenance'])}</p>"
    )
    badge = f"/{code}/badge.svg"
    base = c.view.base_url.rstrip("/")
    embed = (
        f'<a href="{base}/{code}"><img src="{base}{badge}" '
        f'alt="{t["badge_label"]}: {v.name}" height="20"></a>'
    )
    body = (
        f"<h1>{e(title)}</h1>"
        f"<p>{e(t['district'].format(name=d.name))}, {e(t['regency'].format(name=r.name))}</p>"
        f"{_now_box(c, v)}{_uptime(c, v)}{bar}"
        f"<h2>{e(t['incidents'])}</h2>{incidents}"
        f"<h2>{e(t['maintenance'])}</h2>{maintenance}"
        f'<h2>{e(t["hours"])}</h2><p id="hours">{e(hours_text(v.hours, c.lang))}</p>'
        f'<h2>{e(t["badge"])}</h2><p><img src="{badge}" alt="" height="20"></p>'
        f"<p>{e(t['badge_help'])}</p><pre><code>{e(embed)}</code></pre>"
        f'<p><a href="{e(c.href(f"/{code}/poster"))}">{e(t["poster"])}</a> · '
        f'<a href="/api/v1/villages/{code}">{e(t["api"])}</a></p>'
    )
    crumbs = [
        (t["regency"].format(name=r.name), f"/{r.code}"),
        (t["district"].format(name=d.name), f"/{d.code}"),
        (title, f"/{code}"),
    ]
    return layout(
        c, title=title, path=f"/{code}", crumbs=crumbs, body=body,
        rev=f"{c.view.minute}.{v.rev}",
    )  # fmt: skip
