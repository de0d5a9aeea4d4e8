"""The page frame shared by every public page, and the formatting of numbers, times and hours."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from importlib import resources
from urllib.parse import quote

from netwatch.core.i18n import format_datetime, format_duration
from netwatch.public.texts import WEEKDAYS, T
from netwatch.public.view import Hours, PublicView

e = html.escape


def _static(name: str) -> bytes:
    return resources.files("netwatch.public").joinpath(f"static/{name}").read_bytes()


STATIC = {name: _static(name) for name in ("board.css", "board.js")}
# Versioned URLs: a new release changes the query, so browsers may cache these for a year.
STATIC_VERSION = {name: hashlib.sha256(body).hexdigest()[:10] for name, body in STATIC.items()}


@dataclass(frozen=True, slots=True)
class Ctx:
    """One render: the view, the language and how links carry it."""

    view: PublicView
    lang: str

    @property
    def t(self) -> dict[str, str]:
        return T[self.lang]

    def href(self, path: str, **query: str) -> str:
        """A link that keeps a non-default language."""
        if self.lang != self.view.language:
            query = {"lang": self.lang, **query}
        if not query:
            return path
        return path + "?" + "&".join(f"{k}={quote(v)}" for k, v in query.items())

    def when(self, ts: float) -> str:
        return format_datetime(ts, self.lang, self.view.timezone)

    def ago(self, ts: float) -> str:
        return format_duration(self.view.minute * 60 - ts + 60, self.lang)

    def pct(self, ratio: float | None) -> str:
        if ratio is None:
            return self.t["no_data"]
        text = f"{100 * ratio:.2f}%"
        return text.replace(".", ",") if self.lang == "id" else text

    def state(self, state: str) -> str:
        """A state badge: its marker shape, its colour and its words."""
        return f'<span class="state s-{state}">{marker(state)}{e(self.t["short." + state])}</span>'


SHAPES = {
    "up": '<circle r="7"/>',
    "degraded": '<path d="M0-9 8.5 6H-8.5z"/>',
    "down": '<path d="M-7-7h14v14h-14z"/>',
    "maintenance": '<path d="M0-9 9 0 0 9-9 0z"/>',
    "unknown": '<circle r="6" fill="none" stroke-width="2.5"/>',
}


def marker(state: str, coloured: bool = False) -> str:
    """The state's shape (beside the words, never instead): in the text colour, or the map's."""
    shape = f'<g class="mk {state}">{SHAPES[state]}</g>' if coloured else SHAPES[state]
    return f'<svg viewBox="-10 -10 20 20" aria-hidden="true" focusable="false">{shape}</svg>'


def hours_text(hours: tuple[Hours, ...], lang: str) -> str:
    """'setiap hari, 24 jam' / 'Senin–Jumat 07:00–16:00; Sabtu 07:00–12:00'."""
    t = T[lang]
    if len(hours) == 1 and len(hours[0].days) == 7 and (hours[0].start, hours[0].end) == (0, 1440):
        return t["all_day"]
    parts = []
    for h in hours:
        days = _days(h.days, lang)
        parts.append(f"{days} {_hhmm(h.start)}–{_hhmm(h.end)}")
    return "; ".join(parts)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _days(days: tuple[int, ...], lang: str) -> str:
    names = WEEKDAYS[lang]
    if len(days) == 7:
        return T[lang]["every_day"]
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return ", ".join(names[r[0]] if len(r) == 1 else f"{names[r[0]]}–{names[r[-1]]}" for r in runs)


def layout(
    c: Ctx,
    *,
    title: str,
    path: str,
    crumbs: list[tuple[str, str]],
    body: str,
    rev: str | None = None,
    script: bool = True,
) -> str:
    """A whole page: skip link, header with breadcrumbs and language switch, main, footer."""
    t = c.t
    other = "en" if c.lang == "id" else "id"
    switch = path + ("" if other == c.view.language else f"?lang={other}")
    trail = "".join(
        f'<li><a href="{e(c.href(href))}">{e(label)}</a></li>' for label, href in crumbs
    )
    css = f"/static/board.css?v={STATIC_VERSION['board.css']}"
    js = ""
    if script:
        js = f'<script src="/static/board.js?v={STATIC_VERSION["board.js"]}" defer></script>'
    data_rev = ""
    if rev is not None:
        data_rev = f' data-rev="{e(rev)}" data-refresh="{int(c.view.refresh_seconds)}"'
    regency = next(iter(c.view.regencies.values()), None)
    home = c.href(f"/{regency.code}") if regency else "/"
    return (
        f'<!doctype html><html lang="{c.lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)} — {e(t['site'])}</title>"
        f'<link rel="stylesheet" href="{css}">{js}</head><body>'
        f'<a class="skip" href="#main">{e(t["skip"])}</a>'
        f'<header><a class="site" href="{e(home)}">{e(t["site"])}</a>'
        f'<nav class="crumbs" aria-label="breadcrumb"><ol>{trail}</ol></nav>'
        f'<a href="{e(switch)}" lang="{other}" hreflang="{other}">{e(t["lang"])}</a></header>'
        f'<main id="main" tabindex="-1"{data_rev}>{body}</main>'
        f"<footer><p>{e(t['updated'].format(when=c.when(c.view.minute * 60)))}. "
        f'<a href="/api/v1/openapi.json">{e(t["api"])}</a>. '
        f"Peta: cahyadsn/wilayah_boundaries (MIT).</p></footer></body></html>"
    )
