"""A reload keeps the running inventory's device objects where a device did not change
(netwatch.config.isolated: one copy in memory, and parts comparing by identity see no change)."""

from __future__ import annotations

import asyncio

from netwatch.config.isolated import load, load_async
from tests.helpers.configs import write

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
