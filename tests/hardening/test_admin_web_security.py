"""Defects 14 and 15: the admin listener against a hostile web page and a curious scanner.

14: a page the operator visits could POST /-/reload (Chromium: 2 of 2), any Host header was
accepted (DNS rebinding) and reloads queued without bound. 15: no CSP, X-Content-Type-Options
or X-Frame-Options, and `Server` named the Python and aiohttp versions.
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from aiohttp import web

from netwatch.web.security import host_allowed
from tests.helpers.browser import chromium_page
from tests.helpers.netwatch_proc import Netwatch, config, running
from tests.helpers.procs import wait_for
from tests.helpers.threaded_app import serve_in_thread

HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options")


def request(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=None)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


@pytest.fixture
def nw(tmp_path: Path) -> Iterator[Netwatch]:
    with running(tmp_path, config()) as proc:
        yield proc


@pytest.fixture
def evil_site(nw: Netwatch) -> Iterator[str]:
    """A page on another origin (another port) that tries to make the operator reload."""
    page = f"""<!doctype html><html><body>
<iframe name="sink"></iframe>
<form id="f" method="POST" action="{nw.url}/-/reload" target="sink">
<input name="x" value="1"></form>
<script>
fetch("{nw.url}/-/reload", {{method: "POST", mode: "no-cors", body: "x"}})
  .then(() => document.title += "fetch-sent;", () => document.title += "fetch-failed;");
document.getElementById("f").submit();
</script></body></html>"""

    async def index(_: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.add_routes([web.get("/", index)])
    with serve_in_thread(app) as url:
        yield url + "/"


def _reloads(nw: Netwatch) -> float:
    ok = nw.value('netwatch_config_reloads_total{result="success"}') or 0
    bad = nw.value('netwatch_config_reloads_total{result="failure"}') or 0
    return ok + bad


def test_a_web_page_cannot_reload_netwatch(nw: Netwatch, evil_site: str) -> None:
    refused = 'netwatch_http_requests_refused_total{reason="cross_origin"}'
    before = _reloads(nw)
    with chromium_page() as page:
        page.goto(evil_site)
        # Both the fetch and the form reached netwatch: either reloaded or refused.
        wait_for(lambda: _reloads(nw) - before + (nw.value(refused) or 0) >= 2, 20, "both attempts")
    assert _reloads(nw) == before
    assert nw.value(refused) >= 2
    # The operator's own tools still reload: no Origin (curl, kill -HUP) or the same origin.
    assert request(nw.url + "/-/reload", "POST")[0] == 200
    assert request(nw.url + "/-/reload", "POST", {"Origin": nw.url})[0] == 200
    assert request(nw.url + "/-/reload", "POST", {"Sec-Fetch-Site": "cross-site"})[0] == 403
    assert _reloads(nw) == before + 2


def test_unknown_host_headers_are_refused(nw: Netwatch) -> None:
    port = nw.url.rsplit(":", 1)[1]
    for host in ("attacker.example", f"attacker.example:{port}", "127.0.0.1.nip.io"):
        status, _, body = request(nw.url + "/api/v1/villages", headers={"Host": host})
        assert status == 403 and "Host" in body, host
    own = socket.gethostname()
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "[::1]", "127.0.0.1", f"{own}:{port}"):
        assert request(nw.url + "/api/v1/villages", headers={"Host": host})[0] == 200, host
    # Names Prometheus or people use are listed in settings.web.allowed_hosts.
    assert host_allowed("noc.banyuwangikab.go.id:9108", ["noc.banyuwangikab.go.id"])
    assert not host_allowed("noc.banyuwangikab.go.id.evil.example", ["noc.banyuwangikab.go.id"])


def test_concurrent_reloads_share_rather_than_queue(nw: Netwatch) -> None:
    before = _reloads(nw)
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: request(nw.url + "/-/reload", "POST"), range(20)))
    assert all(status == 200 for status, _, _ in results)
    done = _reloads(nw) - before
    assert 1 <= done < 20, done


def test_security_headers_on_every_response(nw: Netwatch) -> None:
    cases = [
        ("GET", "/", 200),
        ("GET", "/metrics", 200),
        ("GET", "/api/v1/villages", 200),
        ("GET", "/no-such-page", 404),
        ("POST", "/metrics", 405),
        ("POST", "/-/reload", 403),  # cross-origin, below
        ("GET", "/readyz", 200),
    ]
    for method, path, code in cases:
        extra = {"Origin": "http://127.0.0.1:1"} if path == "/-/reload" else {}
        status, headers, _ = request(nw.url + path, method, extra)
        assert status == code, (method, path)
        for name in HEADERS:
            assert name in headers, (path, name)
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["Server"] == "netwatch", headers["Server"]


def test_status_page_styles_pass_the_policy_in_chromium(nw: Netwatch) -> None:
    violations: list[str] = []
    with chromium_page() as page:
        page.on(
            "console", lambda m: violations.append(m.text) if "Content Security" in m.text else 0
        )
        page.goto(nw.url + "/?lang=en")
        # The inline <style> applies (allowed by its hash): the layout is the styled one.
        display = page.evaluate("getComputedStyle(document.querySelector('ul.summary')).display")
        assert display == "flex"
        # An injected inline script would not run.
        page.evaluate(
            "() => { const s = document.createElement('script');"
            " s.textContent = 'window.pwned = 1'; document.body.appendChild(s); }"
        )
        assert page.evaluate("window.pwned === undefined")
    csp = [v for v in violations if "Content Security" in v]
    assert any("script" in v for v in csp) and not any("style" in v for v in csp)
