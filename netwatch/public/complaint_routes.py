"""The complaint box over HTTP: GET the form, POST a report; every abuse check in order."""

from __future__ import annotations

import asyncio
import logging
import re
import time

from aiohttp import web

from netwatch.public import forms
from netwatch.public.abuse import client_key
from netwatch.public.complaints import StoreError
from netwatch.public.site import Site, html_response, page_kind
from netwatch.public.texts import CATEGORIES

log = logging.getLogger("netwatch.public")

MAX_BODY = 16 * 1024  # a complaint form is well under 2 KiB
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def routes(site: Site) -> list[web.RouteDef]:
    @page_kind("form")
    async def form(request: web.Request) -> web.Response:
        code = site.village(request)
        if code is None:
            return site.not_found(request)
        token = site.tokens.issue(code, time.time())
        return html_response(forms.form_page(site.ctx(request), code, token))

    @page_kind("complaint")
    async def complaint(request: web.Request) -> web.Response:
        view, code = site.view, site.village(request)
        if view is None or code is None:
            return site.not_found(request)
        c = site.ctx(request)
        now = time.time()
        limits = site.settings.complaints

        def refuse(reason: str, status: int, fresh: bool = True) -> web.Response:
            site.stats[("rejected", reason)] += 1
            token = site.tokens.issue(code, now) if fresh else None
            body = forms.refusal_page(c, code, reason, token)
            if status == 429:
                return html_response(body, status, **{"Retry-After": str(int(limits.window))})
            return html_response(body, status)

        forwarded = request.headers.get("X-Forwarded-For")
        addr = client_key(request.remote, forwarded, site.settings.trusted_proxies)
        if not site.per_address.allow(addr, now):
            return refuse("rate", 429, fresh=False)
        if request.content_length is None or request.content_length > MAX_BODY:
            site.stats[("rejected", "size")] += 1
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_BODY, actual_size=request.content_length or 0
            )
        data = await request.post()
        if data.get(forms.HONEYPOT):
            site.stats[("rejected", "honeypot")] += 1
            return html_response(forms.receipt_page(c, code, None))  # told nothing
        reason = site.tokens.check(str(data.get("token", "")), code, now)
        if reason is not None:
            return refuse(reason, 400)
        category = str(data.get("category", ""))
        text = _CONTROL.sub("", str(data.get("text", ""))).strip()
        if category not in CATEGORIES:
            return refuse("invalid", 400)
        if len(text) > limits.max_text_chars:
            return refuse("too_long", 400)
        if not site.per_village.allow(code, now) or not site.total.allow("all", now):
            return refuse("rate", 429, fresh=False)
        store = site.store
        if store is None:
            return refuse("store", 503, fresh=False)
        v = view.villages[code]

        def add() -> int:
            assert store is not None
            return store.add(
                code, v.district, category, text,
                measured_state=v.state, outage_known=v.outage_known, now=now,
            )  # fmt: skip

        try:
            # synchronous=FULL waits for the disk: off the event loop.
            number = await asyncio.get_running_loop().run_in_executor(None, add)
        except StoreError as exc:
            log.error("public board: complaint not stored: %s", exc)
            return refuse("store", 503, fresh=False)
        site.stats[("accepted",)] += 1
        site.on_complaint(code)
        return html_response(forms.receipt_page(c, code, number))

    return [web.get("/{code}/lapor", form), web.post("/{code}/lapor", complaint)]
