"""The complaint box pages: the form, the receipt and the refusal (HTML, no JavaScript needed)."""

from __future__ import annotations

from netwatch.public.html import Ctx, e, layout
from netwatch.public.pages import village_title
from netwatch.public.texts import CATEGORIES

HONEYPOT = "website"  # hidden from people; a bot that fills it is refused quietly


def _crumbs(c: Ctx, code: str) -> list[tuple[str, str]]:
    v = c.view.villages[code]
    r = c.view.regencies[v.regency]
    d = c.view.districts[v.district]
    return [
        (c.t["regency"].format(name=r.name), f"/{r.code}"),
        (c.t["district"].format(name=d.name), f"/{d.code}"),
        (village_title(c, v), f"/{code}"),
    ]


def form_page(c: Ctx, code: str, token: str, error: str | None = None) -> str:
    t = c.t
    v = c.view.villages[code]
    name = village_title(c, v)
    title = t["form_title"].format(name=name)
    radios = "".join(
        f'<label><input type="radio" name="category" value="{k}" required> '
        f"{e(t['cat.' + k])}</label>"
        for k in CATEGORIES
    )
    alert = f'<p class="note" role="alert" id="error">{e(error)}</p>' if error else ""
    limit = c.view.max_text_chars
    body = (
        f"<h1>{e(title)}</h1><p>{e(t['form_intro'])}</p>{alert}"
        f'<form method="post" action="{e(c.href(f"/{code}/lapor"))}" id="complaint">'
        f'<input type="hidden" name="token" value="{e(token)}">'
        f"<fieldset><legend>{e(t['form_what'])}</legend>{radios}</fieldset>"
        f'<p><label for="text">{e(t["form_text"].format(n=limit))}</label>'
        f'<textarea id="text" name="text" rows="4" maxlength="{limit}"></textarea></p>'
        f'<div class="hp" aria-hidden="true"><label for="{HONEYPOT}">{e(t["form_honeypot"])}'
        f'</label><input type="text" id="{HONEYPOT}" name="{HONEYPOT}" tabindex="-1" '
        f'autocomplete="off"></div>'
        f'<p><button type="submit">{e(t["form_send"])}</button></p>'
        f'<p class="muted">{e(t["form_privacy"])}</p></form>'
    )
    crumbs = [*_crumbs(c, code), (t["report_link"], f"/{code}/lapor")]
    return layout(c, title=title, path=f"/{code}/lapor", crumbs=crumbs, body=body, script=False)


def receipt_page(c: Ctx, code: str, number: int | None) -> str:
    """The receipt; number None for a refused bot, which is shown the same words, no number."""
    t = c.t
    name = village_title(c, c.view.villages[code])
    if number is None:
        text = t["thanks_plain"].format(name=name)
    else:
        text = t["thanks"].format(id=number, name=name)
    body = (
        f'<h1>{e(t["thanks_title"])}</h1><p id="receipt" role="status">{e(text)}</p>'
        f'<p><a href="{e(c.href(f"/{code}"))}">{e(t["back"].format(name=name))}</a></p>'
    )
    return layout(
        c, title=t["thanks_title"], path=f"/{code}", crumbs=_crumbs(c, code), body=body,
        script=False,
    )  # fmt: skip


def refusal_page(c: Ctx, code: str, reason: str, token: str | None) -> str:
    """Why the report was not taken; a fresh form follows when trying again makes sense."""
    t = c.t
    message = t[f"err.{reason}"]
    if token is not None:
        return form_page(c, code, token, error=message)
    name = village_title(c, c.view.villages[code])
    body = (
        f'<h1>{e(t["err_title"])}</h1><p class="note" role="alert" id="error">'
        f"{e(message)}</p>"
        f'<p><a href="{e(c.href(f"/{code}"))}">{e(t["back"].format(name=name))}</a></p>'
    )
    return layout(
        c, title=t["err_title"], path=f"/{code}", crumbs=_crumbs(c, code), body=body,
        script=False,
    )  # fmt: skip
