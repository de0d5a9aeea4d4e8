"""The board in Debian's Chromium against an in-process board: the 90-day bar with an outage
recorded three days ago, refreshing itself where JavaScript runs, the poster's QR codes
(decoded by zbarimg, an independent reader) and the badge."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.browser import ARGS, CHROMIUM
from tests.helpers.procs import http_get
from tests.public.helpers import LocalBoard, build_view, default_inventory, facts
from tests.public.test_history import VILLAGE, WIB, _seed


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[LocalBoard, dict[str, float], object]]:
    now_dt = dt.datetime.now(WIB).replace(hour=18, minute=0, second=0, microsecond=0)
    times = _seed(tmp_path / "alerts.sqlite3", now_dt)
    inv = default_inventory()
    public = dataclasses.replace(inv.settings.public, refresh_seconds=5)
    inv = dataclasses.replace(inv, settings=dataclasses.replace(inv.settings, public=public))
    db = str(tmp_path / "alerts.sqlite3")
    board = LocalBoard(public, build_view(inv, facts(inv), now_dt.timestamp(), db))
    yield board, times, (inv, now_dt, db)
    board.close()


@pytest.fixture
def page() -> Iterator[object]:
    if not shutil.which(CHROMIUM):
        pytest.fail("Debian's chromium is not installed: run scripts/setup.sh --test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1000, "height": 900})
        pg.set_default_timeout(20_000)
        yield pg
        browser.close()


def test_the_90_day_bar_shows_a_recorded_outage(seeded, page) -> None:
    board, _, (_, now_dt, _) = seeded
    page.goto(f"{board.url}/{VILLAGE}")
    cells = page.locator("#bar li")
    assert cells.count() == 90
    day = (now_dt.date() - dt.timedelta(days=3)).isoformat()
    cell = cells.nth(86).locator("a")  # three days before today, the last cell
    assert cell.get_attribute("href") == f"#d-{day}"
    assert cell.get_attribute("class") == "d-bad"  # 22 h of 24: below 99%
    label = cell.get_attribute("aria-label")
    assert label.endswith(": 91,67%, 1 gangguan")
    cell.hover()
    assert cell.locator(".tip").is_visible() and cell.locator(".tip").inner_text() == label
    cell.click()  # a tap works the same: the day's outages, in words
    assert page.url.endswith(f"#d-{day}")
    detail = page.locator(f"#d-{day}").inner_text()
    assert "10:00 WIB" in detail and "12:00 WIB" in detail and "(2 jam)" in detail
    assert "Wi-Fi mati, gangguan jaringan fiber" in detail
    # Days without an outage carry their words too (for hover and screen readers).
    assert cells.nth(85).locator("span").get_attribute("title").endswith("100,00% tanpa gangguan")
    uptime = page.locator("#uptime").inner_text()
    assert "90 hari" in uptime and "99,91%" in uptime  # 1 - 7200 / (89 days + 18 h)


def test_pages_refresh_themselves_where_javascript_runs(seeded, page) -> None:
    board, _, (inv, now_dt, db) = seeded
    navigations = []
    page.goto(f"{board.url}/{VILLAGE}")
    page.on("framenavigated", lambda f: navigations.append(f.url))
    assert page.locator("#state").inner_text().endswith("Wi-Fi berfungsi normal")
    later = now_dt.timestamp() + 60
    view = build_view(inv, facts(inv, **{VILLAGE: ("down", "all_devices_down", False)}), later, db)
    board.set_view(view)
    from playwright.sync_api import expect

    # The page's own script fetches it again (data-refresh: 5 s); no string eval under the CSP.
    expect(page.locator("#state")).to_contain_text("Wi-Fi mati", timeout=15_000)
    assert navigations == []  # updated in place, no reload
    assert "listrik padam" in page.locator(".now").inner_text()


def _decode(png: bytes, tmp: Path) -> str:
    path = tmp / "qr.png"
    path.write_bytes(png)
    out = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(path)], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_the_poster_carries_qr_codes_to_the_page_and_the_complaint_box(
    seeded, page, tmp_path: Path
) -> None:
    if not shutil.which("zbarimg"):
        pytest.fail("zbarimg is not installed (Debian zbar-tools): run scripts/setup.sh --test")
    board, _, _ = seeded
    page.goto(f"{board.url}/{VILLAGE}/poster")
    assert page.locator("h2").inner_text().startswith("Desa Purwodadi")
    page_qr = _decode(page.locator("#qr-page svg").screenshot(), tmp_path)
    form_qr = _decode(page.locator("#qr-form svg").screenshot(), tmp_path)
    assert page_qr == f"{board.url}/{VILLAGE}"
    assert form_qr == f"{board.url}/{VILLAGE}/lapor"
    assert http_get(form_qr)[0] == 200
    pdf = page.pdf(format="A4")  # print-ready: one A4 page
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1


def test_the_badge_is_a_small_svg_that_names_the_state(seeded, page) -> None:
    board, _, _ = seeded
    status, body = http_get(f"{board.url}/{VILLAGE}/badge.svg")
    assert status == 200 and len(body) < 2000
    svg = ET.fromstring(body)
    assert svg.get("role") == "img"
    days30 = 1 - 7200 / (29 * 86400 + 18 * 3600)  # the badge shows 30 days: 99.72%
    assert svg.get("aria-label") == f"Wi-Fi desa Purwodadi: Normal · {100 * days30:.2f}%".replace(
        ".", ","
    )
    page.set_content(f'<img id="b" src="{board.url}/{VILLAGE}/badge.svg">')
    img = page.locator("#b")
    for _ in range(100):
        if img.evaluate("i => i.complete && i.naturalWidth"):
            break
        page.wait_for_timeout(50)
    assert img.evaluate("i => i.naturalWidth") > 100
