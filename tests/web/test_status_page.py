"""The status page in a real browser (Debian's Chromium) against a real netwatch web server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.core.model import Role
from netwatch.core.runtime import Runtime
from netwatch.web.server import build_app
from tests.core.inventories import make_inventory
from tests.helpers.browser import chromium_page
from tests.helpers.threaded_app import serve_in_thread

UP, DEGRADED, DOWN = "35.10.07.2001", "35.10.07.2002", "35.10.07.2003"


def _runtime() -> Runtime:
    inv = make_inventory(
        {
            UP: [("up-r", Role.ROUTER, "127.0.7.1"), ("up-ap", Role.AP, "127.0.7.2")],
            DEGRADED: [
                ("dg-r", Role.ROUTER, "127.0.7.3"),
                ("dg-ap1", Role.AP, "127.0.7.4"),
                ("dg-ap2", Role.AP, "127.0.7.5"),
            ],
            DOWN: [("dn-r", Role.ROUTER, "127.0.7.6"), ("dn-ap", Role.AP, "127.0.7.7")],
        }
    )
    rt = Runtime("unused.yaml", inv)
    answering = {"up-r", "up-ap", "dg-r", "dg-ap1", "dn-ap"}
    for name, ds in rt.state.devices.items():
        ok = name in answering
        res = PingResult(
            ds.device.address, sent=5, received=5 if ok else 0, rtts=[0.001] * (5 if ok else 0)
        )
        rt.state.record(PingObservation(name, 1_764_300_000.0, res))
    return rt


@pytest.fixture
def server() -> Iterator[str]:
    with serve_in_thread(build_app(_runtime())) as url:
        yield url


def test_status_page_in_indonesian_and_english(server: str) -> None:
    with chromium_page() as page:
        page.goto(server + "/")
        assert page.locator("html").get_attribute("lang") == "id"
        summary = page.locator("#summary").inner_text()
        assert "1 Aktif" in summary and "1 Terganggu" in summary and "1 Mati" in summary
        rows = page.locator("#villages tbody tr")
        assert rows.count() == 3
        # Worst first: the down village leads, with its silent router named.
        first = rows.nth(0).inner_text()
        assert DOWN in first and "Mati" in first and "dn-r: tidak menjawab ping" in first
        assert "Terganggu" in rows.nth(1).inner_text() and "dg-ap2" in rows.nth(1).inner_text()
        page.goto(server + "/?lang=en")
        assert "1 Down" in page.locator("#summary").inner_text()
        assert "does not answer ping" in page.locator("#villages").inner_text()
        page.screenshot(path="/tmp/netwatch-status-page.png", full_page=True)
