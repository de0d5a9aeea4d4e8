"""The no-clients kind reads the APs whose polls count clients, by themselves or by their
controller; an AP polled without client rows gets no intent (Causes.intents), whichever way
its facts came and went."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

from netwatch.alerting.causes import NO_CLIENTS, Causes
from netwatch.alerting.kinds import Kinds
from netwatch.alerting.rules import DeviceView, Topology
from netwatch.core import link_facts as cf
from netwatch.core.model import ControllerLink, Inventory
from tests.helpers import regency

# A Monday 09:00 in Jakarta: office hours (08:00-16:00, Mon-Fri) by the settings' defaults.
MONDAY_9 = dt.datetime(2026, 11, 30, 9, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Jakarta")).timestamp()
HOURS = 3600.0


def _inventory() -> Inventory:
    inv = regency.build(districts=1, villages=3, aps=1, pop=False)
    devices = dict(inv.devices)
    for name in ("ap-1-1-1", "ap-1-2-1", "ap-1-3-1"):
        devices[name] = dataclasses.replace(devices[name], snmp="c")
    # ap-1-2-1 is "ap-2" on its controller, which is the router of village 1.
    devices["ap-1-2-1"] = dataclasses.replace(
        devices["ap-1-2-1"], controller=ControllerLink("rtr-1-1", ap="ap-2")
    )
    return dataclasses.replace(inv, devices=devices)


def _rows(*rows: tuple[float, dict[str, str]]) -> tuple[cf.Row, ...]:
    return tuple(cf.Row(v, labels) for v, labels in rows)


def _wanted(causes: Causes, now: float) -> dict[str, bool]:
    views = {n: DeviceView(confirmed_up=True) for n in causes.inventory.devices}
    return {
        i.labels["device"]: i.want
        for i in causes.intents(now, views, {})
        if i.labels["alertname"] == NO_CLIENTS
    }


def test_only_aps_with_a_client_count_are_read():
    inv = _inventory()
    causes = Causes(inv, Kinds(Topology(inv), inv.settings.alerting))
    assert [d.name for d in causes.aps] == ["ap-1-1-1", "ap-1-2-1", "ap-1-3-1"]
    t = MONDAY_9
    no_clients = _rows((0.0, {"scope": "device"}))
    causes.facts["ap-1-1-1"] = cf.DeviceFacts(t, {cf.CLIENTS: no_clients})
    causes.facts["rtr-1-1"] = cf.DeviceFacts(
        t, {cf.CLIENTS: _rows((0.0, {"scope": "ap", "ap": "ap-2"}))}
    )
    causes.facts["ap-1-3-1"] = cf.DeviceFacts(t, {cf.OPER_UP: _rows((1.0, {"interface": "eth0"}))})
    # 09:00: zero clients begins for the two counted APs; nothing to fire or resolve yet.
    assert _wanted(causes, t) == {}
    assert causes.zero_since == {"ap-1-1-1": t, "ap-1-2-1": t}
    # Two hours and a minute later: both warn (inventory order), the uncounted AP never.
    later = t + 2 * HOURS + 60
    assert _wanted(causes, later) == {"ap-1-1-1": True, "ap-1-2-1": True}
    # ap-1-1-1's next poll counts no clients at all: it is not read (its run is kept as it was).
    causes.facts["ap-1-1-1"] = cf.DeviceFacts(
        later, {cf.OPER_UP: _rows((1.0, {"interface": "eth0"}))}
    )
    assert _wanted(causes, later + 1) == {"ap-1-2-1": True}
    assert causes.zero_since == {"ap-1-1-1": t, "ap-1-2-1": t}
    # ap-1-3-1 starts counting, with a client: read again, its count is no zero run.
    causes.facts["ap-1-3-1"] = cf.DeviceFacts(
        later, {cf.CLIENTS: _rows((2.0, {"scope": "device"}))}
    )
    causes.facts["ap-1-1-1"] = cf.DeviceFacts(later, {cf.CLIENTS: no_clients})
    assert _wanted(causes, later + 2) == {"ap-1-1-1": True, "ap-1-2-1": True}
    assert causes.zero_since == {"ap-1-1-1": t, "ap-1-2-1": t}


def test_a_reload_keeps_which_devices_count():
    inv = _inventory()
    causes = Causes(inv, Kinds(Topology(inv), inv.settings.alerting))
    t = MONDAY_9
    causes.facts["rtr-1-1"] = cf.DeviceFacts(
        t, {cf.CLIENTS: _rows((0.0, {"scope": "ap", "ap": "ap-2"}))}
    )
    assert _wanted(causes, t) == {}
    again = Causes(inv, Kinds(Topology(inv), inv.settings.alerting))
    again.adopt(causes)
    assert _wanted(again, t + 2 * HOURS) == {"ap-1-2-1": True}
