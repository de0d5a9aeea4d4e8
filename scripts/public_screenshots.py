"""Screenshots of the public board for docs/img/ (regency, district and village pages).

    .venv/bin/python scripts/public_screenshots.py

Serves the board in-process from the default inventory with an example outage history (a few
outages over the last 90 days, one village down, one degraded) and photographs it in Debian's
Chromium: the regency page at 1000 px, the district and village pages at 360 px (a phone).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import socket
import sys
import tempfile
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from netwatch.alerting import store  # noqa: E402
from netwatch.config import default_config_path, load_inventory  # noqa: E402
from netwatch.public.app import make_app  # noqa: E402
from netwatch.public.build import Builder  # noqa: E402
from netwatch.public.engine_view import EngineFacts, VillageFacts  # noqa: E402
from netwatch.public.history import History  # noqa: E402
from netwatch.public.site import Site  # noqa: E402

WIB = ZoneInfo("Asia/Jakarta")
OUT = REPO / "docs" / "img"
DISTRICT = "35.10.07"
VILLAGE = "35.10.07.2001"
CAUSES = ("upstream_down:x", "router_down", "all_devices_down", "ap_down")


def seed(path: Path, codes: list[str], now: dt.datetime) -> None:
    """Every village up for 90 days, with a few outages of a few hours here and there."""
    conn = store.connect(str(path))
    rnd = random.Random(7)
    start = (now - dt.timedelta(days=91)).timestamp()
    for code in codes:
        t = start
        outages = sorted(rnd.sample(range(1, 89), rnd.choice((0, 0, 1, 2, 3))), reverse=True)
        if code == VILLAGE:
            outages = [61, 23, 4]  # oldest first
        for days_ago in outages:
            down = (now - dt.timedelta(days=days_ago, hours=rnd.randint(1, 12))).timestamp()
            back = down + rnd.choice((900, 2400, 5400, 10800))
            rows = [(code, "up", t, down), (code, "down", down, back)]
            conn.executemany("INSERT INTO village_states VALUES (?, ?, ?, ?, 0)", rows)
            labels = {"alertname": "VillageWifiDown", "severity": "critical", "village": code}
            conn.execute(
                "INSERT INTO alerts(fingerprint, alertname, labels, state, starts_at, ends_at,"
                " cause) VALUES (?, 'VillageWifiDown', ?, 'resolved', ?, ?, ?)",
                (f"{code}{down}", json.dumps(labels), down, back, rnd.choice(CAUSES)),
            )
            t = back
        conn.execute("INSERT INTO village_states VALUES (?, 'up', ?, NULL, 0)", (code, t))
    conn.close()


def main() -> int:
    inv = load_inventory(default_config_path())
    now = dt.datetime.now(WIB).replace(second=0, microsecond=0)
    work = Path(tempfile.mkdtemp(prefix="nw-shots-"))
    seed(work / "alerts.sqlite3", list(inv.villages), now)
    facts = {c: VillageFacts("up", None, False, None) for c in inv.villages}
    facts["35.10.07.2008"] = VillageFacts("down", "upstream_down:x", True, None)
    facts["35.10.16.1013"] = VillageFacts("degraded", "ap_down", True, None)
    builder = Builder(History(str(work / "alerts.sqlite3"), "Asia/Jakarta"), None)
    site = Site(inv.settings.public, None)
    site.view = builder.build(inv, EngineFacts(facts, 1, True), now.timestamp())

    loop = asyncio.new_event_loop()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    runner = web.AppRunner(make_app(site))
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.SockSite(runner, sock).start())
    threading.Thread(target=loop.run_forever, daemon=True).start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"

    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(REPO / "tests"))
    from tests.helpers.browser import ARGS, CHROMIUM

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name, path, width, height in (
            ("regency", "/35.10", 900, 1150),
            ("district", f"/{DISTRICT}", 360, 1000),
            ("village", f"/{VILLAGE}", 360, 1300),
        ):
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(base + path)
            target = OUT / f"public-{name}.png"
            page.screenshot(path=str(target))  # the top of the page: small files for the docs
            print(f"{target}: {target.stat().st_size} bytes")
            page.close()
        browser.close()
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
