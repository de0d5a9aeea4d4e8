"""The board's state in its own process: the view, the page cache, the abuse limits, and how
a cached entry becomes a response (ETag, Cache-Control, gzip)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any

from aiohttp import web

from netwatch.core.public_settings import PublicSettings
from netwatch.public.abuse import FormTokens, RateLimiter
from netwatch.public.cache import Entry, PageCache
from netwatch.public.complaints import ComplaintStore
from netwatch.public.html import Ctx
from netwatch.public.texts import T
from netwatch.public.view import PublicView

HTML = "text/html; charset=utf-8"


class Site:
    """Everything a request handler of the board may touch."""

    def __init__(
        self,
        settings: PublicSettings,
        store: ComplaintStore | None,
        on_complaint: Callable[[str], None] = lambda code: None,
    ) -> None:
        self.view: PublicView | None = None
        self.cache = PageCache()
        self.stats: Counter[tuple[str, ...]] = Counter()
        self.store = store
        self.on_complaint = on_complaint
        self.configure(settings)

    def configure(self, settings: PublicSettings) -> None:
        """Adopt (re)loaded settings; counts so far and forms already handed out stay valid."""
        lim = settings.complaints
        self.settings = settings
        if not hasattr(self, "tokens"):
            self.per_address = RateLimiter(lim.per_address, lim.window)
            self.per_village = RateLimiter(lim.per_village, lim.window)
            self.total = RateLimiter(lim.total, lim.window)
            self.tokens = FormTokens(lim.min_fill_seconds, lim.max_form_age)
            return
        for limiter, limit in (
            (self.per_address, lim.per_address),
            (self.per_village, lim.per_village),
            (self.total, lim.total),
        ):
            limiter.limit, limiter.window = limit, lim.window
        self.tokens.min_fill, self.tokens.max_age = lim.min_fill_seconds, lim.max_form_age

    def village(self, request: web.Request) -> str | None:
        """The request's {code} if it names a village of the current view."""
        code = request.match_info["code"]
        return code if self.view is not None and code in self.view.villages else None

    def not_found(self, request: web.Request) -> web.Response:
        return web.Response(status=404, text=self.ctx(request).t["not_found"] + "\n")

    def ctx(self, request: web.Request) -> Ctx:
        assert self.view is not None
        lang = request.query.get("lang", "")
        return Ctx(self.view, lang if lang in T else self.view.language)

    def send(
        self, request: web.Request, entry: Entry, max_age: float | None = None
    ) -> web.Response:
        """entry with ETag/Cache-Control; 304 on a matching If-None-Match; gzip if accepted."""
        gz = entry.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", "")
        etag = entry.etag[:-1] + '-gz"' if gz else entry.etag
        age = self.settings.cache_seconds if max_age is None else max_age
        headers = {
            "ETag": etag,
            "Cache-Control": f"public, max-age={int(age)}",
            "Vary": "Accept-Encoding",
        }
        inm = request.headers.get("If-None-Match", "")
        if inm and (inm.strip() == "*" or etag in (t.strip() for t in inm.split(","))):
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = entry.content_type
        if gz:
            headers["Content-Encoding"] = "gzip"
            return web.Response(body=entry.gzipped, headers=headers)
        return web.Response(body=entry.body, headers=headers)

    def cached_html(
        self, request: web.Request, key: tuple, dep: Hashable, render: Callable[[], str]
    ) -> web.Response:
        entry = self.cache.get(key, dep, lambda: (render().encode(), HTML))
        return self.send(request, entry)


def page_kind(kind: str) -> Callable[[Any], Any]:
    """Mark a handler with the page kind counted in the board's request metrics."""

    def mark(fn: Any) -> Any:
        fn.page_kind = kind
        return fn

    return mark


def html_response(body: str, status: int = 200, **headers: str) -> web.Response:
    """An uncached HTML response (forms, receipts, search results)."""
    return web.Response(
        status=status,
        body=body.encode(),
        headers={"Content-Type": HTML, "Cache-Control": "no-store", **headers},
    )


def json_error(status: int, message: str) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps({"error": message}).encode(),
        headers={"Content-Type": "application/json", "Cache-Control": "no-store"},
    )
