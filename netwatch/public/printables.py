"""The embeddable SVG badge and the printable A4 poster (QR codes by segno) of a village."""

from __future__ import annotations

import segno

from netwatch.public.html import Ctx, e, hours_text
from netwatch.public.pages import village_title

# Text on the state colour: white where it reaches 4.5:1, black otherwise (board.css).
_BADGE = {
    "up": ("#00795a", "#fff"),
    "degraded": ("#e69f00", "#000"),
    "down": ("#a84700", "#fff"),
    "maintenance": ("#cc79a7", "#000"),
    "unknown": ("#5e5e5e", "#fff"),
}


def _width(text: str) -> int:
    return 7 * len(text) + 12  # Verdana 11 px averages under 7 px a character


def badge(c: Ctx, code: str) -> str:
    """A 20 px high shields-style badge: 'Wi-Fi desa | Normal · 99,95%' (30 days)."""
    v = c.view.villages[code]
    left = c.t["badge_label"]
    right = c.t["short." + v.state]
    if v.uptime[2] is not None:
        right += f" · {c.pct(v.uptime[2])}"
    wl, wr = _width(left), _width(right)
    bg, fg = _BADGE[v.state]
    label = f"{left} {v.name}: {right}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{wl + wr}" height="20" role="img" '
        f'aria-label="{e(label)}"><title>{e(label)}</title>'
        f'<rect width="{wl}" height="20" fill="#3b4148"/>'
        f'<rect x="{wl}" width="{wr}" height="20" fill="{bg}"/>'
        f'<g font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="6" y="14" fill="#fff">{e(left)}</text>'
        f'<text x="{wl + 6}" y="14" fill="{fg}">{e(right)}</text></g></svg>'
    )


def qr_svg(url: str) -> str:
    """A QR code (error correction M) as inline SVG sized by CSS."""
    return segno.make(url, error="m").svg_inline(scale=1, border=4, omitsize=True)


def poster(c: Ctx, code: str, base: str) -> str:
    """A print-ready A4 page for the village's notice board, with two QR codes."""
    t = c.t
    v = c.view.villages[code]
    d = c.view.districts[v.district]
    name = village_title(c, v)
    page = f"{base}{c.href('/' + code)}"
    form = f"{base}{c.href(f'/{code}/lapor')}"
    return (
        f'<!doctype html><html lang="{c.lang}"><head><meta charset="utf-8">'
        f"<title>{e(name)} — {e(t['site'])}</title><style>"
        "@page{size:A4;margin:15mm}"
        "body{font-family:system-ui,sans-serif;color:#000;margin:0 auto;max-width:180mm}"
        "h1{font-size:30pt;margin:0 0 4mm}h2{font-size:20pt;margin:0 0 8mm;font-weight:400}"
        ".qr{display:flex;gap:10mm;margin:10mm 0}.qr figure{flex:1;margin:0;text-align:center}"
        ".qr svg{width:70mm;height:70mm}.qr figcaption{font-size:14pt;font-weight:600}"
        ".url{font-size:10pt;word-break:break-all;font-weight:400}"
        "p{font-size:14pt}</style></head><body>"
        f"<h1>{e(t['poster_free'])}</h1>"
        f"<h2>{e(name)}, {e(t['district'].format(name=d.name))}</h2>"
        f"<p>{e(t['hours'])}: <strong>{e(hours_text(v.hours, c.lang))}</strong></p>"
        f'<div class="qr"><figure id="qr-page">{qr_svg(page)}'
        f"<figcaption>{e(t['poster_scan'])}<br>"
        f'<span class="url">{e(page)}</span></figcaption></figure>'
        f'<figure id="qr-form">{qr_svg(form)}'
        f"<figcaption>{e(t['poster_report'])}<br>"
        f'<span class="url">{e(form)}</span></figcaption></figure></div>'
        f"<p>{e(t['form_privacy'])}</p></body></html>"
    )
