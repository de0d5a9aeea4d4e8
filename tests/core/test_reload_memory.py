"""A reload of an unchanged file keeps the running inventory: no second copy lives on.

The soak of 3 Dec (docs/performance.md): each good reload adopted a fresh 10,000-device copy
and freed the old one, whose objects lay among everything allocated since the start, so
pymalloc kept ~16 more arenas (RSS) after a reload storm. Counted here in live objects, not RSS.
"""

from __future__ import annotations

import gc
from pathlib import Path

from netwatch.core.model import Device, Inventory
from netwatch.core.runtime import Runtime
from tests.helpers.netwatch_proc import config


def _live(kind: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is kind)


async def test_unchanged_reloads_keep_one_inventory_and_a_change_is_adopted(
    tmp_path: Path,
) -> None:
    cfg = tmp_path / "n.yaml"
    text = config(interval="30s")
    cfg.write_text(text)
    runtime = Runtime.from_file(cfg)
    first = runtime.inventory
    inventories, devices = _live(Inventory), _live(Device)
    for _ in range(5):
        result = await runtime.reload()
        assert result.ok, result.errors
        assert (result.added, result.removed, result.changed) == (0, 0, 0)
    assert runtime.inventory is first
    assert runtime.state.inventory is first
    assert _live(Inventory) == inventories and _live(Device) == devices
    # A changed file is adopted as before: the new inventory, the old one let go.
    cfg.write_text(
        text + "            - {name: purwodadi-ap-2, role: ap, address: 127.7.1.3,"
        " parent: purwodadi-router}\n"
    )
    result = await runtime.reload()
    assert result.ok, result.errors
    assert runtime.inventory is not first
    assert "purwodadi-ap-2" in runtime.inventory.devices
    assert "purwodadi-ap-2" in runtime.state.devices
    del first
    assert _live(Inventory) == inventories and _live(Device) == devices + 1
