"""The admin listener's security: Host and Origin checks, basic auth (bcrypt), TLS, headers.

Modelled on prometheus/exporter-toolkit's web config. State-changing requests (anything but
GET, HEAD and OPTIONS) from another origin are refused, so a web page the operator visits
cannot POST /-/reload; Host names other than IP literals, localhost and `allowed_hosts` are
refused, so DNS rebinding cannot turn a browser into a reader of the admin API.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import Counter

from netwatch.core.model import WebSettings
from netwatch.core.telemetry import REGISTRY

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REFUSED = Counter(
    "netwatch_http_requests_refused_total",
    "Admin requests refused: unknown_host, cross_origin, unauthorized.",
    ["reason"],
    registry=REGISTRY,
)
for _reason in ("unknown_host", "cross_origin", "unauthorized"):
    REFUSED.labels(_reason)

SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
# The machine's own name (no DNS lookup): Prometheus often scrapes by it.
_HOSTNAME = socket.gethostname().lower().rstrip(".")
# Sent with every response. The status page has one inline <style>, allowed by its hash.
BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Server": "netwatch",  # no versions: they only help an attacker pick an exploit
}


def content_security_policy(style_hashes: Iterable[str] = ()) -> str:
    styles = " ".join(f"'sha256-{h}'" for h in style_hashes) or "'none'"
    return (
        "default-src 'none'; "
        f"style-src {styles}; "
        "img-src 'self'; "
        "base-uri 'none'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    )


def style_hash(css: str) -> str:
    """The CSP hash source of an inline <style> element's exact text."""
    return base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()


def host_allowed(host_header: str, allowed: Iterable[str]) -> bool:
    """IP literals, localhost, this machine's host name and the configured names are ours."""
    if not host_header:
        return False
    try:
        host = urlsplit("//" + host_header).hostname or ""
    except ValueError:
        return False
    host = host.lower().rstrip(".")
    if host in ("localhost", _HOSTNAME):
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    return host in {a.lower().rstrip(".") for a in allowed}


def same_origin(request: web.Request) -> bool:
    """False when the browser says the request comes from another site or origin."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not sent by a browser (curl, Prometheus, kill -HUP's ExecReload)
    if origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.netloc.lower() == request.host.lower() and parts.scheme == request.scheme


class BasicAuth:
    """bcrypt-checked users; good credentials are cached as a keyed hash, as exporter-toolkit."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = dict(users)
        self._ok: set[bytes] = set()
        self._key = hashlib.sha256(repr(sorted(users.items())).encode()).digest()
        self._slots = asyncio.Semaphore(2)  # bcrypt costs ~0.2 s: never more than 2 at once

    async def check(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        hashed = self.users.get(user)
        if hashed is None:
            return False
        token = hmac.new(self._key, f"{user}\0{password}".encode(), hashlib.sha256).digest()
        if token in self._ok:
            return True
        import bcrypt

        async with self._slots:
            good = await asyncio.get_running_loop().run_in_executor(
                None, bcrypt.checkpw, password.encode(), hashed.encode()
            )
        if good:
            if len(self._ok) > 1000:
                self._ok.clear()
            self._ok.add(token)
        return bool(good)


def security_middleware(settings: WebSettings) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Host allow-list, cross-origin refusal for state changes, then basic auth."""
    auth = BasicAuth(settings.basic_auth_users) if settings.basic_auth_users else None
    allowed = tuple(settings.allowed_hosts)

    @web.middleware
    async def security(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not host_allowed(request.headers.get("Host", ""), allowed):
            REFUSED.labels("unknown_host").inc()
            return web.Response(
                status=403, text="unknown Host header (settings.web.allowed_hosts)\n"
            )
        if request.method not in SAFE_METHODS and not same_origin(request):
            REFUSED.labels("cross_origin").inc()
            return web.Response(status=403, text="cross-origin request refused\n")
        if auth is not None and not await auth.check(request.headers.get("Authorization")):
            REFUSED.labels("unauthorized").inc()
            return web.Response(
                status=401,
                text="unauthorized\n",
                headers={"WWW-Authenticate": 'Basic realm="netwatch", charset="UTF-8"'},
            )
        return await handler(request)

    return security


def add_security_headers(app: web.Application, style_hashes: Iterable[str] = ()) -> None:
    """Every response of app carries BASE_HEADERS and the content security policy."""
    headers = {**BASE_HEADERS, "Content-Security-Policy": content_security_policy(style_hashes)}

    async def on_prepare(_: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(headers)

    app.on_response_prepare.append(on_prepare)


def tls_context(settings: WebSettings) -> ssl.SSLContext | None:
    """The server TLS context, or None without tls_cert_file; raises OSError/SSLError."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = (
        ssl.TLSVersion.TLSv1_3 if settings.tls_min_version == "TLS13" else ssl.TLSVersion.TLSv1_2
    )
    ctx.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    return ctx
