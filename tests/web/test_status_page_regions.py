"""The status page and its API over a province of two regencies, in Debian's Chromium."""

from __future__ import annotations

from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.config import load_inventory
from netwatch.core.runtime import Runtime
from netwatch.web.server import build_app
from tests.config.test_regions import PROVINCE
from tests.helpers.browser import chromium_page
from tests.helpers.configs import write
from tests.helpers.threaded_app import serve_in_thread


def test_province_page_names_the_province_and_each_villages_regency(tmp_path):
    path = write(tmp_path, PROVINCE)
    rt = Runtime(path, load_inventory(path))
    for name, ds in rt.state.devices.items():
        ok = not name.startswith(("r-35-09", "ap-35-09"))  # Jember's village is cut off
        res = PingResult(ds.device.address, 5, 5 if ok else 0, [0.001] * (5 if ok else 0))
        rt.state.record(PingObservation(name, 1_764_300_000.0, res))
    with serve_in_thread(build_app(rt)) as url, chromium_page() as page:
        page.goto(url + "/")
        assert page.locator("h1").inner_text() == "Status Wi-Fi Gratis Desa — Provinsi Jawa Timur"
        head = page.locator("#villages thead th").all_inner_texts()
        assert head[:2] == ["Kabupaten/Kota", "Kecamatan"]
        rows = page.locator("#villages tbody tr")
        assert rows.count() == 2
        assert rows.nth(0).locator("td").all_inner_texts()[:2] == ["Jember", "Jombang"]
        assert "Mati" in rows.nth(0).inner_text()
        assert rows.nth(1).locator("td").all_inner_texts()[:2] == ["Banyuwangi", "Pesanggaran"]
        page.goto(url + "/?lang=en")
        assert page.locator("h1").inner_text().endswith("— Jawa Timur Province")
        api = page.request.get(url + "/api/v1/villages").json()
    assert {(v["village"], v["regency"], v["regency_name"]) for v in api} == {
        ("35.10.01.2001", "35.10", "Banyuwangi"),
        ("35.09.01.2001", "35.09", "Jember"),
    }


def test_one_city_is_kota(tmp_path):
    text = PROVINCE.split('    - code: "35.09"')[0].replace('"35.10', '"35.79')
    path = write(tmp_path, text.replace("Banyuwangi", "Batu"))
    rt = Runtime(path, load_inventory(path))
    with serve_in_thread(build_app(rt)) as url, chromium_page() as page:
        page.goto(url + "/")
        assert page.locator("h1").inner_text().endswith("— Kota Batu")
        assert page.locator("#villages thead th").first.inner_text() == "Kecamatan"
