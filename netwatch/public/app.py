"""The public listener's aiohttp application: pages, badge, poster, JSON API, complaint box.

Runs in the board's own process (serve.py) on the public view only. Pages come from the
cache (cache.py), rendered at most once per change of what they show.
"""

from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping

from aiohttp import web
from aiohttp.typedefs import Handler

from netwatch.public import api_routes, complaint_routes, pages, printables, village_page
from netwatch.public.complaint_routes import MAX_BODY
from netwatch.public.html import STATIC
from netwatch.public.site import HTML, Site, html_response, json_error, page_kind
from netwatch.public.texts import T

log = logging.getLogger("netwatch.public")

REGENCY = re.compile(r"\d{2}\.\d{2}")
DISTRICT = re.compile(r"\d{2}\.\d{2}\.\d{2}")
VILLAGE = re.compile(r"\d{2}\.\d{2}\.\d{2}\.\d{4}")
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
# Nothing from elsewhere: no external script, style, font, image or frame, ever.
CSP = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
POSTER_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'"


def _secure(headers: MutableMapping[str, str]) -> None:
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"


def make_app(site: Site) -> web.Application:
    @web.middleware
    async def frame(request: web.Request, handler: Handler) -> web.StreamResponse:
        kind = getattr(handler, "page_kind", "other")
        try:
            if site.view is None and kind not in ("static", "health"):
                resp: web.StreamResponse = loading(request)
            else:
                resp = await handler(request)
        except web.HTTPException as exc:
            site.stats[("request", kind, f"{exc.status // 100}xx")] += 1
            _secure(exc.headers)
            raise
        except Exception:
            log.exception("public board: %s %s failed", request.method, request.path)
            resp = web.Response(status=500, text="internal error\n")
        site.stats[("request", kind, f"{resp.status // 100}xx")] += 1
        _secure(resp.headers)
        return resp

    def loading(request: web.Request) -> web.Response:
        if request.path.startswith("/api/"):
            return json_error(503, "the board has no data yet; try again shortly")
        return web.Response(
            status=503, text=T["id"]["loading"] + "\n", headers={"Retry-After": "5"}
        )

    @page_kind("home")
    async def home(request: web.Request) -> web.Response:
        assert site.view is not None
        target = next(iter(site.view.regencies))
        query = f"?lang={request.query['lang']}" if request.query.get("lang") in T else ""
        raise web.HTTPFound(f"/{target}{query}")

    @page_kind("page")
    async def place(request: web.Request) -> web.StreamResponse:
        view = site.view
        assert view is not None
        code = request.match_info["code"]
        c = site.ctx(request)
        if REGENCY.fullmatch(code) and code in view.regencies:
            dep = (view.minute, view.regencies[code].rev)
            return site.cached_html(
                request, ("regency", code, c.lang), dep, lambda: pages.regency_page(c, code)
            )
        if DISTRICT.fullmatch(code) and code in view.districts:
            dep = (view.minute, view.districts[code].rev)
            return site.cached_html(
                request, ("district", code, c.lang), dep, lambda: pages.district_page(c, code)
            )
        if VILLAGE.fullmatch(code) and code in view.villages:
            dep = (view.minute, view.villages[code].rev)
            return site.cached_html(
                request, ("village", code, c.lang), dep, lambda: village_page.village_page(c, code)
            )
        return site.not_found(request)

    @page_kind("search")
    async def search(request: web.Request) -> web.Response:
        assert site.view is not None
        code = request.match_info["code"]
        if code not in site.view.regencies:
            return site.not_found(request)
        q = request.query.get("q", "")[:64]
        return html_response(pages.search_page(site.ctx(request), code, q))

    @page_kind("badge")
    async def badge(request: web.Request) -> web.StreamResponse:
        view, code = site.view, site.village(request)
        if view is None or code is None:
            return site.not_found(request)
        c = site.ctx(request)

        def render() -> tuple[bytes, str]:
            return printables.badge(c, code).encode(), "image/svg+xml"

        dep = (view.minute, view.villages[code].rev)
        return site.send(request, site.cache.get(("badge", code, c.lang), dep, render))

    @page_kind("poster")
    async def poster(request: web.Request) -> web.StreamResponse:
        view, code = site.view, site.village(request)
        if view is None or code is None:
            return site.not_found(request)
        c = site.ctx(request)
        host = request.host if _HOST.fullmatch(request.host) else "localhost"
        base = view.base_url.rstrip("/") or f"{request.scheme}://{host}"

        def render() -> tuple[bytes, str]:
            return printables.poster(c, code, base).encode(), HTML

        key = ("poster", code, c.lang, base)
        entry = site.cache.get(key, view.villages[code].hours, render)
        resp = site.send(request, entry, max_age=3600)
        resp.headers["Content-Security-Policy"] = POSTER_CSP
        return resp

    @page_kind("static")
    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        kind = "text/css" if name.endswith(".css") else "text/javascript"

        def render() -> tuple[bytes, str]:
            return STATIC[name], f"{kind}; charset=utf-8"

        entry = site.cache.get(("static", name), 0, render)
        return site.send(request, entry, max_age=86400 * 365 if request.query.get("v") else 3600)

    @page_kind("health")
    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok\n" if site.view is not None else "starting\n")

    app = web.Application(middlewares=[frame], client_max_size=MAX_BODY)
    app.add_routes(
        [
            web.get("/", home),
            web.get("/healthz", health),
            web.get("/static/{name}", static),
            *api_routes.routes(site),
            *complaint_routes.routes(site),
            web.get("/{code}/cari", search),
            web.get("/{code}/badge.svg", badge),
            web.get("/{code}/poster", poster),
            web.get("/{code}", place),
        ]
    )
    return app
