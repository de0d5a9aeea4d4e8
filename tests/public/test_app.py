"""The board's HTTP side in-process: caching with ETags, security headers, and every abuse
check of the complaint box, each on its own, against a real aiohttp server on loopback."""

from __future__ import annotations

import dataclasses
import gzip
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch.core.public_settings import ComplaintLimits
from netwatch.public.complaints import ComplaintStore
from tests.public.helpers import LocalBoard, build_view, default_inventory, facts

VILLAGE = "35.10.07.2001"


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def post(url: str, fields: dict[str, str], headers: dict[str, str] | None = None):
    data = urllib.parse.urlencode(fields).encode()
    req = urllib.request.Request(url, data=data, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def token_of(html: str) -> str:
    start = html.index('name="token" value="') + len('name="token" value="')
    return html[start : html.index('"', start)]


@pytest.fixture
def board(tmp_path: Path) -> Iterator[LocalBoard]:
    inv = default_inventory()
    limits = ComplaintLimits(per_address=6, per_village=3, min_fill_seconds=0.5)
    settings = dataclasses.replace(
        inv.settings.public, complaints=limits, complaints_db=str(tmp_path / "c.sqlite3")
    )
    store = ComplaintStore(settings.complaints_db)
    view = build_view(inv, facts(inv, **{VILLAGE: ("down", "router_down", True)}), time.time())
    b = LocalBoard(settings, view, store)
    b.store = store  # type: ignore[attr-defined]
    yield b
    b.close()
    store.shutdown()


def test_pages_are_cached_with_etags_and_gzip(board: LocalBoard) -> None:
    url = f"{board.url}/{VILLAGE}"
    status, headers, body = get(url)
    assert status == 200
    assert headers["Cache-Control"] == "public, max-age=10"
    etag = headers["ETag"]
    renders = board.site.cache.renders
    status, headers2, _ = get(url, {"If-None-Match": etag})
    assert status == 304 and headers2["ETag"] == etag
    status, headers3, packed = get(url, {"Accept-Encoding": "gzip"})
    assert headers3["Content-Encoding"] == "gzip" and gzip.decompress(packed) == body
    assert headers3["ETag"] != etag  # a different representation, a different validator
    for _ in range(20):
        get(url)
    assert board.site.cache.renders == renders  # served from the cache, not rendered again
    # New data for this village renders it again, once.
    inv = default_inventory()
    board.set_view(build_view(inv, facts(inv), time.time()))
    deadline = time.monotonic() + 5
    while get(url, {"If-None-Match": etag})[0] == 304 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert get(url, {"If-None-Match": etag})[0] == 200


def test_security_headers_and_nothing_from_elsewhere(board: LocalBoard) -> None:
    for path in ("/35.10", "/35.10.07", f"/{VILLAGE}", f"/{VILLAGE}/lapor", "/api/v1/regencies"):
        status, headers, body = get(board.url + path)
        assert status == 200, path
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert b"http://" not in body.replace(b'xmlns="http://www.w3.org/2000/svg"', b"")
        assert b"https://" not in body


def test_every_page_is_under_100_kb_with_its_css_and_script(board: LocalBoard) -> None:
    css = len(get(board.url + "/static/board.css")[2])
    js = len(get(board.url + "/static/board.js")[2])
    for path in ("/35.10", "/35.10.07", f"/{VILLAGE}", f"/{VILLAGE}/lapor", f"/{VILLAGE}/poster"):
        size = len(get(board.url + path)[2]) + css + js
        assert size < 100_000, (path, size)


def test_search_escapes_what_it_reflects(board: LocalBoard) -> None:
    q = urllib.parse.quote('<script>alert("x")</script>')
    status, _, body = get(f"{board.url}/35.10/cari?q={q}")
    assert status == 200
    assert b"<script>alert" not in body and b"&lt;script&gt;alert" in body
    status, _, body = get(f"{board.url}/35.10/cari?q=purwo")
    assert b"Purwodadi" in body


def test_a_complaint_is_stored_with_what_was_measured(board: LocalBoard) -> None:
    form = get(f"{board.url}/{VILLAGE}/lapor")[2].decode()
    time.sleep(0.6)
    status, html = post(
        f"{board.url}/{VILLAGE}/lapor",
        {"token": token_of(form), "category": "no_signal", "text": "sejak pagi\x07 <b>mati</b>"},
    )
    assert status == 200 and "Laporan nomor 1" in html
    [c] = board.store.list()  # type: ignore[attr-defined]
    assert (c.village, c.district, c.category) == (VILLAGE, "35.10.07", "no_signal")
    assert c.text == "sejak pagi <b>mati</b>"  # control characters dropped, HTML kept as text
    assert (c.measured_state, c.outage_known, c.status) == ("down", True, "open")
    assert board.site.stats[("accepted",)] == 1


def test_too_fast_reused_forged_and_honeypot_submissions_are_refused(board: LocalBoard) -> None:
    url = f"{board.url}/{VILLAGE}/lapor"
    token = token_of(get(url)[2].decode())
    status, html = post(url, {"token": token, "category": "slow"})
    assert status == 400 and "terlalu cepat" in html  # under min_fill_seconds
    time.sleep(0.6)
    assert post(url, {"token": token, "category": "slow"})[0] == 200
    status, html = post(url, {"token": token, "category": "slow"})
    assert status == 400 and "kedaluwarsa atau sudah dipakai" in html  # used once already
    forged = token[:-4] + ("0000" if not token.endswith("0000") else "1111")
    assert post(url, {"token": forged, "category": "slow"})[0] == 400
    other = token_of(get(f"{board.url}/35.10.07.2002/lapor")[2].decode())
    time.sleep(0.6)
    assert post(url, {"token": other, "category": "slow"})[0] == 400  # bound to its village
    stats = board.site.stats
    assert (stats[("rejected", "fast")], stats[("rejected", "token")]) == (1, 3)
    assert len(board.store.list()) == 1  # type: ignore[attr-defined]


def test_honeypot_invalid_and_oversized(board: LocalBoard) -> None:
    url = f"{board.url}/{VILLAGE}/lapor"
    token = token_of(get(url)[2].decode())
    time.sleep(0.6)
    status, html = post(url, {"token": token, "category": "slow", "website": "http://spam"})
    assert status == 200 and "Laporan nomor" not in html  # told nothing, stored nothing
    token = token_of(get(url)[2].decode())
    time.sleep(0.6)
    assert post(url, {"token": token, "category": "free money"})[0] == 400
    token = token_of(get(url)[2].decode())
    time.sleep(0.6)
    assert post(url, {"token": token, "category": "slow", "text": "x" * 501})[0] == 400
    status, _ = post(url, {"token": token, "category": "slow", "text": "x" * 20_000})
    assert status == 413
    assert board.store.list() == []  # type: ignore[attr-defined]
    assert board.site.stats[("rejected", "honeypot")] == 1


def test_rate_limits_per_village_then_per_address(board: LocalBoard) -> None:
    url = f"{board.url}/{VILLAGE}/lapor"
    results = []
    for i in range(4):
        fwd = {"X-Forwarded-For": f"192.0.2.{i}"}  # not believed: no trusted proxy
        token = token_of(get(url)[2].decode())
        time.sleep(0.6)
        results.append(post(url, {"token": token, "category": "other"}, fwd)[0])
    assert results == [200, 200, 200, 429]  # per_village=3 stops the fourth report
    # per_address=6 counts every attempt from this address, good or bad: two more, then 429.
    assert [post(url, {"token": "x", "category": "other"})[0] for _ in range(3)] == [400, 400, 429]
    status, html = post(url, {"token": "x", "category": "other"})
    assert status == 429 and "Terlalu banyak laporan" in html
    assert len(board.store.list()) == 3  # type: ignore[attr-defined]
    assert board.site.stats[("rejected", "rate")] == 3


def test_api_errors_are_json(board: LocalBoard) -> None:
    status, headers, body = get(board.url + "/api/v1/villages/35.10.99.9999")
    assert status == 404 and headers["Content-Type"] == "application/json"
    status, _, body = get(board.url + "/api/v1/villages?state=broken")
    assert status == 400 and b"state must be one of" in body


def test_new_settings_keep_forms_handed_out_and_counts(board: LocalBoard) -> None:
    url = f"{board.url}/{VILLAGE}/lapor"
    token = token_of(get(url)[2].decode())
    stricter = dataclasses.replace(
        board.site.settings,
        complaints=dataclasses.replace(board.site.settings.complaints, per_address=2),
    )
    board.loop.call_soon_threadsafe(board.site.configure, stricter)
    time.sleep(0.6)
    assert post(url, {"token": token, "category": "slow"})[0] == 200  # the form still counts
    assert board.site.per_address.limit == 2
    # Two attempts an hour from this address now: the second is heard (and refused), not a third.
    assert [post(url, {"token": "x", "category": "slow"})[0] for _ in range(2)] == [400, 429]
