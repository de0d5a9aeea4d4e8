"""The inventory crosses from the loader's child to the monitor as a pickle: every field of
every record must come back (model.quick_pickle replaces dataclasses' slots pickling)."""

from __future__ import annotations

import dataclasses
import pickle

from netwatch.config import default_config_path, load_inventory
from netwatch.core import model


def test_the_shipped_inventory_comes_back_equal() -> None:
    inv = load_inventory(default_config_path())
    back = pickle.loads(pickle.dumps(inv, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == inv
    assert back.devices.keys() == inv.devices.keys() and len(inv.devices) > 100


def test_every_field_of_a_quick_pickled_record_survives() -> None:
    device = model.Device(
        "ap-1",
        model.Role.AP,
        "127.0.0.9",
        "35.10.01",
        village="35.10.01.2001",
        parent="r-1",
        snmp="v2",
        profile="mikrotik",
        tags=("a", "b"),
        ping=False,
        ping_interval=10.0,
        snmp_interval=120.0,
        source=model.Source("x.yaml", 7),
    )
    back = pickle.loads(pickle.dumps(device))
    for f in dataclasses.fields(device):
        assert getattr(back, f.name) == getattr(device, f.name), f.name
    assert back == device and hash(back) == hash(device)
    shard = model.DistrictShard("35.10.01", "Kecamatan", 3, 12)
    assert pickle.loads(pickle.dumps(shard)) == shard
