"""A reload keeps quiet villages quiet unless it changed what they read (issue 10).

At 50,000 devices a one-line edit made every village loud: the next tick evaluated all
25,000 of them (~0.6 s in 20 ms slices) and polls due meanwhile started up to 0.13 s late.
Now a reload that keeps the settings makes loud only the villages it changed or added, and
the devices it changed or added, or whose parent chain it changed (below a device changed or
removed), or that read a changed device's polls. The reference is the same incremental engine
whose every reload makes every village and parent loud (what a reload did before), fed the
same reports and the same reloads: a village left quiet that mattered shows as a difference.

(The engine that evaluates everything every tick was not the reference here: against it the
incremental engine differed in these sequences on 947db31 once reloads came between ticks,
even reloads of an equal copy: forgotten dependency_grace ends; test_engine_reload.py.)
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Generator
from dataclasses import replace

import pytest

from netwatch.core.model import AlertingSettings, Device, Inventory, OnuLink, Role
from tests.alerting.harness import Harness
from tests.alerting.test_engine_incremental import SETTINGS, _alerts, _olt_says, same
from tests.helpers import regency

ONU_VILLAGE = "35.10.01.2001"
ONU = OnuLink(olt="pop-1", pon="0/1/3", id=5)


def _everything(inventory: Inventory) -> Generator[None, None, None]:
    """Engine._changes as every reload was before: None, every village and parent loud."""
    return None
    yield


def _district(name: str) -> int:
    return int(name.split("-")[1])


def edited(inv: Inventory, rng: random.Random, k: int) -> tuple[Inventory, str]:
    """inv after one operator's edit of the kind drawn (the kind is returned too)."""
    devices, villages = dict(inv.devices), dict(inv.villages)
    aps = [n for n in devices if n.startswith("ap-")]
    kind = rng.choice(["address", "address", "parent", "remove", "add", "onu", "pop", "none"])
    if kind == "address":  # any device, routers and POPs included
        name = rng.choice(list(devices))
        devices[name] = replace(devices[name], address=f"127.88.{k // 250}.{k % 250 + 1}")
    elif kind == "parent" and aps:  # an AP hung on its POP instead of its router, or back
        ap = devices[rng.choice(aps)]
        rtr = "rtr-" + ap.name.split("-", 1)[1].rsplit("-", 1)[0]
        pop = f"pop-{_district(ap.name)}"
        devices[ap.name] = replace(ap, parent=pop if ap.parent == rtr else rtr)
    elif kind == "remove" and len(aps) > 2:
        ap = devices.pop(rng.choice(aps))
        assert ap.village is not None
        v = villages[ap.village]
        villages[v.code] = replace(v, devices=tuple(n for n in v.devices if n != ap.name))
    elif kind == "add":  # an AP (back) in a village, behind its router
        code = rng.choice(list(villages))
        v = villages[code]
        rtr = v.devices[0]
        name = f"ap-{rtr.split('-', 1)[1]}-9"
        if name not in devices:
            d = devices[rtr]
            devices[name] = Device(name, Role.AP, f"127.89.0.{k % 250 + 1}", d.district, code, rtr)
            villages[code] = replace(v, devices=(*v.devices, name))
    elif kind == "onu":  # the village's fibre link declared, or taken out
        v = villages[ONU_VILLAGE]
        villages[ONU_VILLAGE] = replace(v, onu=None if v.onu is not None else ONU)
    elif kind == "pop":  # an upstream device's tags: every village behind it is its child
        name = f"pop-{rng.randint(1, 2)}"
        devices[name] = replace(devices[name], tags=(*devices[name].tags, f"t{k}"))
    return replace(inv, devices=devices, villages=villages), kind


@pytest.mark.parametrize("settings", list(SETTINGS))
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_reloads_leave_quiet_only_what_a_full_evaluation_would_not_change(tmp_path, seed, settings):
    inv = regency.build(districts=2, villages=4, aps=2, settings=SETTINGS[settings])
    linked = dataclasses.replace(inv.villages[ONU_VILLAGE], onu=ONU)
    inv = dataclasses.replace(inv, villages={**inv.villages, ONU_VILLAGE: linked})
    quick = Harness(inv, str(tmp_path / "quick.sqlite3"))
    full = Harness(inv, str(tmp_path / "every_village.sqlite3"))
    full.engine._changes = _everything  # type: ignore[method-assign]
    both = (full, quick)
    rng = random.Random(seed)
    bad: dict[str, tuple[int, float]] = {}
    reloads, kept_quiet = 0, 0
    for step in range(400):
        names = list(inv.devices)
        if rng.random() < 0.08:
            received = rng.choice([0, 0, 0, 1, 3, 4, 5, 5])
            bad[rng.choice(names)] = (received, rng.choice([0.002, 0.002, 0.25, 0.35]))
        if rng.random() < 0.05 and bad:
            bad.pop(rng.choice(list(bad)))
        if rng.random() < 0.02:
            state = rng.choice(["working", "working", "dying_gasp", "los"])
            for h in both:
                _olt_says(h, state)
        if rng.random() < 0.1:  # a reload of an edited file, between two ticks
            inv, _ = edited(inv, rng, step)
            for h in both:
                h.engine.set_inventory(inv)
            reloads += 1
            kept_quiet += sum(quick.engine.is_quiet(code) for code in inv.villages)
            names = list(inv.devices)
        for name in rng.sample(names, k=rng.randint(0, len(names) // 3)):
            received, rtt = bad.get(name, (5, 0.002))
            for h in both:
                h.observe(name, received, rtt=rtt)
        full.engine.evaluate()
        quick.engine.evaluate()
        same(quick, full, step)
        for h in both:
            h.clock.t += 2.0
    assert _alerts(quick.db) == _alerts(full.db)
    assert full.events(), "the sequence never alerted: it tests nothing"
    assert reloads > 10 and kept_quiet > 0, "no reload kept a village quiet: it tests nothing"


def test_a_one_device_edit_makes_only_its_village_due(tmp_path):
    s = AlertingSettings(degraded_rounds=3)
    inv = regency.build(districts=2, villages=3, aps=1, settings=s)
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    for _ in range(5):  # verdicts up, windows full: every village quiet
        h.round(dict.fromkeys(inv.devices, True))
    assert h.engine._due_villages() == []

    def edit(name: str, **changes: object) -> None:
        now = h.engine.inventory
        device = replace(now.devices[name], **changes)
        h.engine.set_inventory(replace(now, devices={**now.devices, name: device}))

    edit("ap-2-3-1", address="127.88.0.1")
    assert h.engine._due_villages() == ["35.10.02.2003"]
    h.engine.evaluate()  # nothing it reads changed: quiet again
    assert h.engine._due_villages() == []
    edit("pop-1", address="127.88.0.2")  # every village behind the POP (its district's)
    assert h.engine._due_villages() == ["35.10.01.2001", "35.10.01.2002", "35.10.01.2003"]
    h.engine.evaluate()
    h.engine.set_inventory(replace(h.engine.inventory))  # an equal copy: nothing
    assert h.engine._due_villages() == []
    # Other settings: every village.
    alerting = replace(s, upstream_wait=s.upstream_wait + 1)
    now = h.engine.inventory
    h.engine.set_inventory(replace(now, settings=replace(now.settings, alerting=alerting)))
    assert h.engine._due_villages() == list(inv.villages)


def test_a_device_touched_then_removed_by_a_reload_is_no_parent_to_evaluate(tmp_path):
    inv = regency.build(districts=20, villages=1, aps=1)  # 20 POPs: the parents, in order
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    for _ in range(5):
        h.round(dict.fromkeys(inv.devices, True))
    for _ in range(4):  # pop-7 goes down: touched, taken at the next tick
        h.observe("pop-7", 0)
        h.clock.t += 2.0
    assert "pop-7" in h.engine.tracker.touched
    devices = {n: d for n, d in inv.devices.items() if d.district != "35.10.07"}
    villages = {c: v for c, v in inv.villages.items() if v.district != "35.10.07"}
    districts = {c: d for c, d in inv.districts.items() if c != "35.10.07"}
    h.engine.set_inventory(replace(inv, devices=devices, villages=villages, districts=districts))
    h.engine.evaluate()  # (a KeyError here: pop-7 among the parents to order)
    assert "pop-7" not in h.engine.tracker.tracks
