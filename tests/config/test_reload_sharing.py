"""A reload keeps the running inventory's device objects where a device did not change
(netwatch.config.isolated: one copy in memory, and parts comparing by identity see no change)."""

from __future__ import annotations

import asyncio

from netwatch.config.isolated import load, load_async
from netwatch.config.loader import load_inventory
from tests.helpers.configs import line_of, write

CONFIG = """
regency:
  code: "35.10"
  name: Banyuwangi
  districts:
    - code: "35.10.01"
      name: Pesanggaran
      villages:
        - code: "35.10.01.2001"
          name: Sarongan
          kind: desa
          devices:
            - {name: sarongan-router, role: router, address: 127.1.1.1}
            - {name: sarongan-ap, role: ap, address: 127.1.1.2, parent: sarongan-router}
        - code: "35.10.01.2002"
          name: Kandangan
          kind: desa
          devices:
            - {name: kandangan-router, role: router, address: 127.1.2.1}
"""


def test_unchanged_devices_stay_the_running_objects(tmp_path) -> None:
    path = write(tmp_path, CONFIG)
    running = load(path)
    assert list(running.devices) == ["sarongan-router", "sarongan-ap", "kandangan-router"]
    # Kandangan's router moves to a new address (same line: its source stays equal).
    path.write_text(path.read_text().replace("127.1.2.1", "127.1.2.9"))
    new = asyncio.run(load_async(path, None, share=running.devices))
    assert list(new.devices) == list(running.devices)  # the file's order
    assert new.devices["sarongan-router"] is running.devices["sarongan-router"]
    assert new.devices["sarongan-ap"] is running.devices["sarongan-ap"]
    changed = new.devices["kandangan-router"]
    assert changed is not running.devices["kandangan-router"]
    assert changed.address == "127.1.2.9" and running.devices["kandangan-router"].address == (
        "127.1.2.1"
    )
    # Without share every device is a fresh object, equal to what the child read.
    again = load(path)
    assert again.devices == new.devices
    assert all(again.devices[n] is not new.devices[n] for n in again.devices)
    assert again.villages == new.villages and again.districts == new.districts


def test_a_device_that_only_moved_in_the_file_stays_the_running_object(tmp_path) -> None:
    path = write(tmp_path, CONFIG)
    running = load(path)
    # A comment line above everything: every device and village is now one line further down.
    path.write_text("# moved\n" + path.read_text())
    new = asyncio.run(load_async(path, None, share=running.devices))
    assert all(new.devices[n] is running.devices[n] for n in running.devices)
    assert new.villages == running.villages


def test_the_running_inventory_holds_one_string_per_code_and_no_sources(tmp_path) -> None:
    path = write(tmp_path, CONFIG)
    inv = load(path)
    village = inv.villages["35.10.01.2001"]
    router, ap = inv.devices["sarongan-router"], inv.devices["sarongan-ap"]
    assert router.village == "35.10.01.2001" and router.village is village.code
    assert ap.village is village.code
    assert router.district == "35.10.01" and router.district is inv.districts["35.10.01"].code
    assert ap.parent == "sarongan-router" and ap.parent is router.name
    assert router.source is None and ap.source is None and village.source is None
    # The in-process loader (the child's checks, `netwatch config`) still says where each was.
    src = load_inventory(path).devices["sarongan-ap"].source
    assert src is not None and (src.file, src.line) == (str(path), line_of(CONFIG, "sarongan-ap"))


def test_unchanged_villages_stay_the_running_objects(tmp_path) -> None:
    path = write(tmp_path, CONFIG)
    running = load(path)
    path.write_text(path.read_text().replace("name: Kandangan", "name: Kandangan Baru"))
    new = asyncio.run(load_async(path, None, share=running.devices, villages=running.villages))
    assert list(new.villages) == list(running.villages)  # the file's order
    assert new.villages["35.10.01.2001"] is running.villages["35.10.01.2001"]
    renamed = new.villages["35.10.01.2002"]
    assert renamed is not running.villages["35.10.01.2002"] and renamed.name == "Kandangan Baru"
    # Its devices did not change: still the running objects, pointing at the one code string.
    router = new.devices["kandangan-router"]
    assert router is running.devices["kandangan-router"]
    assert new.devices["sarongan-ap"].village is new.villages["35.10.01.2001"].code
