"""The regency, district and search pages (the village page is in village_page.py)."""

from __future__ import annotations

from netwatch.public import mapsvg
from netwatch.public.html import Ctx, e, layout, marker
from netwatch.public.texts import STATES
from netwatch.public.view import VillageView, counts, regency_villages


def village_title(c: Ctx, v: VillageView) -> str:
    return c.t[v.kind].format(name=v.name)


def _counts(c: Ctx, n: dict[str, int]) -> str:
    items = "".join(
        f"<li>{c.state(s)} <strong>{n[s]}</strong></li>" for s in STATES if n[s] or s == "down"
    )
    return f'<ul class="counts" id="counts">{items}</ul>'


def _legend(c: Ctx) -> str:
    items = "".join(f"<li>{marker(s, coloured=True)}{e(c.t['short.' + s])}</li>" for s in STATES)
    return f'<ul class="legend" aria-label="{e(c.t["legend"])}">{items}</ul>'


def _since(c: Ctx, v: VillageView) -> str:
    if v.since is None:
        return ""
    return c.t["since"].format(when=c.when(v.since), ago=c.ago(v.since))


def _village_rows(c: Ctx, codes: list[str]) -> str:
    rows = []
    for code in codes:
        v = c.view.villages[code]
        rows.append(
            f'<tr><td><a href="{e(c.href("/" + code))}">{e(v.name)}</a></td>'
            f"<td>{c.state(v.state)}</td><td>{e(_since(c, v))}</td>"
            f'<td class="num">{e(c.pct(v.uptime[2]))}</td></tr>'
        )
    head = (
        f"<thead><tr><th>{e(c.t['villages'])}</th><th>Status</th><th></th>"
        f'<th class="num">{e(c.t["uptime"])} {e(c.t["days30"])}</th></tr></thead>'
    )
    table = f'<table id="villages">{head}<tbody>{"".join(rows)}</tbody></table>'
    return f'<div class="scroll">{table}</div>'


def _search_form(c: Ctx, regency: str, q: str = "") -> str:
    hidden = (
        f'<input type="hidden" name="lang" value="{c.lang}">' if c.lang != c.view.language else ""
    )
    return (
        f'<form class="search" role="search" action="/{regency}/cari" method="get">'
        f'<label for="q">{e(c.t["search"])}</label>'
        f'<input type="search" id="q" name="q" maxlength="64" value="{e(q)}">{hidden}'
        f'<button type="submit">{e(c.t["search_button"])}</button></form>'
    )


def regency_page(c: Ctx, code: str) -> str:
    r = c.view.regencies[code]
    t = c.t
    villages = regency_villages(c.view, code)
    n = counts(c.view, villages)
    order = {"down": 0, "degraded": 1, "maintenance": 2}
    trouble = sorted(
        (v for v in (c.view.villages[x] for x in villages) if v.state in order),
        key=lambda v: (order[v.state], v.name),
    )
    if trouble:
        items = "".join(
            f'<li><a href="{e(c.href("/" + v.code))}">{e(v.name)}</a> '
            f"({e(c.view.districts[v.district].name)}) {c.state(v.state)} "
            f"<small>{e(_since(c, v))}</small></li>"
            for v in trouble
        )
        problems = f'<ul id="problems">{items}</ul>'
    else:
        problems = f'<p id="problems">{e(t["no_problems"])}</p>'
    rows = []
    for d in r.districts:
        dv = c.view.districts[d]
        dn = counts(c.view, dv.villages)
        bad = dn["down"] + dn["degraded"]
        rows.append(
            f'<tr><td><a href="{e(c.href("/" + d))}">{e(dv.name)}</a></td>'
            f'<td class="num">{len(dv.villages)}</td><td class="num">{dn["up"]}</td>'
            f'<td class="num">{bad}</td></tr>'
        )
    title = t["regency"].format(name=r.name)
    map_svg = mapsvg.render(
        c.view,
        code,
        t["map_title"].format(name=r.name),
        {s: t["short." + s] for s in STATES},
        c.href("/{code}"),
    )
    body = (
        f"<h1>{e(t['site'])} — {e(title)}</h1>"
        f"<p>{e(t['village_count'].format(n=len(villages)))}</p>{_counts(c, n)}"
        f"{_search_form(c, code)}"
        f'<h2 id="map">{e(t["map"])}</h2><a class="skip" href="#problems-h">{e(t["skip_map"])}</a>'
        f'<div class="map">{map_svg}</div>{_legend(c)}'
        f'<h2 id="problems-h">{e(t["problems"])}</h2>{problems}'
        f'<h2>{e(t["districts"])}</h2><div class="scroll"><table id="districts"><thead><tr>'
        f'<th>{e(t["districts"])}</th><th class="num">{e(t["col_villages"])}</th>'
        f'<th class="num">{e(t["short.up"])}</th>'
        f'<th class="num">{e(t["col_problems"])}</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
    return layout(
        c, title=title, path=f"/{code}", crumbs=[(title, f"/{code}")], body=body,
        rev=f"{c.view.minute}.{r.rev}",
    )  # fmt: skip


def district_page(c: Ctx, code: str) -> str:
    d = c.view.districts[code]
    r = c.view.regencies[d.regency]
    t = c.t
    title = t["district"].format(name=d.name)
    regency_title = t["regency"].format(name=r.name)
    map_svg = mapsvg.render(
        c.view,
        d.regency,
        title,
        {s: t["short." + s] for s in STATES},
        c.href("/{code}"),
        only_district=code,
    )
    body = (
        f"<h1>{e(title)}</h1><p>{e(regency_title)} · "
        f"{e(t['village_count'].format(n=len(d.villages)))}</p>"
        f"{_counts(c, counts(c.view, d.villages))}"
        f'<div class="map">{map_svg}</div>{_legend(c)}'
        f"<h2>{e(t['villages'])}</h2>{_village_rows(c, list(d.villages))}"
    )
    crumbs = [(regency_title, f"/{r.code}"), (title, f"/{code}")]
    return layout(
        c, title=title, path=f"/{code}", crumbs=crumbs, body=body,
        rev=f"{c.view.minute}.{d.rev}",
    )  # fmt: skip


def search_page(c: Ctx, regency: str, q: str) -> str:
    t = c.t
    r = c.view.regencies[regency]
    needle = q.strip().casefold()
    found = [
        x
        for x in regency_villages(c.view, regency)
        if needle and needle in c.view.villages[x].name.casefold()
    ]
    found.sort(key=lambda x: c.view.villages[x].name)
    result = _village_rows(c, found[:100]) if found else f"<p>{e(t['search_none'])}</p>"
    regency_title = t["regency"].format(name=r.name)
    heading = t["search_results"].format(q=q.strip())
    body = f"<h1>{e(heading)}</h1>{_search_form(c, regency, q)}{result}"
    crumbs = [(regency_title, f"/{regency}"), (t["search"], f"/{regency}/cari")]
    return layout(c, title=heading, path=f"/{regency}/cari", crumbs=crumbs, body=body)
