"""GET /api/v1/...: the JSON API, cached like the pages; 404 and 400 as JSON errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable

from aiohttp import web

from netwatch.public import api, openapi
from netwatch.public.site import Site, json_error, page_kind
from netwatch.public.texts import STATES
from netwatch.public.view import PublicView, VillageView, regency_villages

JSON_TYPE = "application/json"


def _select(
    v: PublicView, regency: str | None, district: str | None, village: str | None
) -> list[str]:
    codes = [c for r in v.regencies if regency in (None, r) for c in regency_villages(v, r)]
    return [c for c in codes if district in (None, v.villages[c].district) and village in (None, c)]


def routes(site: Site) -> list[web.RouteDef]:
    def reply(
        request: web.Request, key: tuple, dep: Hashable, build: Callable[[], object]
    ) -> web.Response:
        def render() -> tuple[bytes, str]:
            return json.dumps(build(), ensure_ascii=False).encode(), JSON_TYPE

        return site.send(request, site.cache.get(("api", *key), dep, render))

    def view() -> PublicView:
        assert site.view is not None
        return site.view

    def about_village(
        request: web.Request, what: str, build: Callable[[PublicView, VillageView], object]
    ) -> web.Response:
        v, code = view(), site.village(request)
        if code is None:
            return json_error(404, f"no village {request.match_info['code']}")
        village = v.villages[code]
        return reply(request, (what, code), (v.minute, village.rev), lambda: build(v, village))

    def all_revs(v: PublicView) -> tuple:
        return (v.minute, tuple(r.rev for r in v.regencies.values()))

    @page_kind("api")
    async def doc(request: web.Request) -> web.Response:
        def render() -> tuple[bytes, str]:
            return json.dumps(openapi.document()).encode(), JSON_TYPE

        return site.send(request, site.cache.get(("openapi",), 0, render), max_age=3600)

    @page_kind("api")
    async def regencies(request: web.Request) -> web.Response:
        v = view()
        return reply(
            request,
            ("regencies",),
            all_revs(v),
            lambda: [
                {"code": r.code, "name": r.name, "url": f"/{r.code}"} for r in v.regencies.values()
            ],
        )

    @page_kind("api")
    async def regency(request: web.Request) -> web.Response:
        v, code = view(), request.match_info["code"]
        if code not in v.regencies:
            return json_error(404, f"no regency {code}")
        dep = (v.minute, v.regencies[code].rev)
        return reply(request, ("regency", code), dep, lambda: api.regency(v, code))

    @page_kind("api")
    async def districts(request: web.Request) -> web.Response:
        v = view()
        want = request.query.get("regency")
        codes = [d for r in v.regencies.values() if want in (None, r.code) for d in r.districts]
        return reply(
            request,
            ("districts", want),
            all_revs(v),
            lambda: [api.district_summary(v, d) for d in codes],
        )

    @page_kind("api")
    async def district(request: web.Request) -> web.Response:
        v, code = view(), request.match_info["code"]
        if code not in v.districts:
            return json_error(404, f"no district {code}")
        dep = (v.minute, v.districts[code].rev)
        return reply(request, ("district", code), dep, lambda: api.district_detail(v, code))

    @page_kind("api")
    async def villages(request: web.Request) -> web.Response:
        v, q = view(), request.query
        state = q.get("state")
        if state is not None and state not in STATES:
            return json_error(400, f"state must be one of {', '.join(STATES)}")
        codes = _select(v, q.get("regency"), q.get("district"), None)
        codes = [c for c in codes if state in (None, v.villages[c].state)]
        key = ("villages", q.get("regency"), q.get("district"), state)
        return reply(
            request,
            key,
            all_revs(v),
            lambda: [api.village_summary(v, v.villages[c]) for c in codes],
        )

    @page_kind("api")
    async def village(request: web.Request) -> web.Response:
        return about_village(request, "village", api.village_detail)

    @page_kind("api")
    async def history(request: web.Request) -> web.Response:
        return about_village(request, "history", api.village_history)

    @page_kind("api")
    async def incidents(request: web.Request) -> web.Response:
        v, q = view(), request.query
        ongoing_text = q.get("ongoing")
        if ongoing_text not in (None, "true", "false"):
            return json_error(400, "ongoing must be true or false")
        ongoing = None if ongoing_text is None else ongoing_text == "true"
        codes = _select(v, q.get("regency"), q.get("district"), q.get("village"))
        key = ("incidents", q.get("regency"), q.get("district"), q.get("village"), ongoing_text)
        return reply(request, key, all_revs(v), lambda: api.incidents(v, codes, ongoing))

    return [
        web.get(openapi.PATH, doc),
        web.get("/api/v1/regencies", regencies),
        web.get("/api/v1/regencies/{code}", regency),
        web.get("/api/v1/districts", districts),
        web.get("/api/v1/districts/{code}", district),
        web.get("/api/v1/villages", villages),
        web.get("/api/v1/villages/{code}", village),
        web.get("/api/v1/villages/{code}/history", history),
        web.get("/api/v1/incidents", incidents),
    ]
