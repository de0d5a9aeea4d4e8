"""State: each device's state per collector, the device verdict and the village rollup.

Collectors write observations here through the scheduler; exporters, alerting and the web
read it. Which collector owns an observation, and how it lands in its per-device state, is
the collector package's own business (netwatch.core.plugins). Nothing here does I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Generator
from typing import Protocol, TypeVar

from netwatch.core.model import Device, Inventory, Role
from netwatch.core.plugins import (
    DevicePart,
    Health,
    Observation,
    Plugin,
    Verdict,
    plugin_for,
)

ObsT = TypeVar("ObsT", bound=Observation)
REPLACE_SLICE = 10000  # devices per piece of State.replace_steps() (~2 ms each)
PartT = TypeVar("PartT", bound=DevicePart)


class VillageStatus(enum.StrEnum):
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    UNKNOWN = "unknown"  # no complete round yet


class DeviceState:
    """One device and its state per collector (parts, by collector name)."""

    __slots__ = ("device", "parts")

    def __init__(self, device: Device) -> None:
        self.device = device
        self.parts: dict[str, DevicePart] = {}

    def part(self, plugin: Plugin[ObsT, PartT]) -> PartT | None:
        """One collector's state of this device (None before its first observation)."""
        return plugin.part_of(self.parts)

    def verdicts(self) -> list[Verdict]:
        """Every collector's verdict on the device (those that have one)."""
        device = self.device
        out = []
        for part in self.parts.values():
            v = part.verdict(device)
            if v is not None:
                out.append(v)
        return out

    def verdict(self) -> Verdict | None:
        """The worst verdict; None until a collector that judges reachability has spoken."""
        # One pass, no list: the village rollup asks this of every device at every scrape.
        device = self.device
        worst: Verdict | None = None
        reached = False
        for part in self.parts.values():
            v = part.verdict(device)
            if v is None:
                continue
            reached = reached or v.reachability
            if worst is None or v.health > worst.health:
                worst = v
        return worst if reached else None

    def _reach(self) -> Verdict | None:
        for part in self.parts.values():
            v = part.verdict(self.device)
            if v is not None and v.reachability:
                return v
        return None

    @property
    def up(self) -> bool | None:
        """Whether the device answered its last round (None before the first)."""
        v = self._reach()
        return None if v is None else v.health is not Health.DOWN

    @property
    def reason(self) -> str:
        """Why it is down ("no reply", "unresolvable: ..."); "" while it answers."""
        v = self._reach()
        return "" if v is None or v.health is not Health.DOWN else v.reason

    @property
    def since(self) -> float:
        """Unix time of the last up/down change (0 before the first round)."""
        v = self._reach()
        return 0.0 if v is None else v.since


class Listener(Protocol):
    """Called after each applied observation (exporters, the alert engine); never raises."""

    def __call__(self, device_state: DeviceState, observation: Observation, /) -> None: ...


class State:
    """Device and village state for one inventory; rebuilt in place on reload."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.devices: dict[str, DeviceState] = {
            name: DeviceState(device) for name, device in inventory.devices.items()
        }
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call listener(device_state, observation) after each applied observation."""
        self._listeners.append(listener)

    def replace_inventory(self, inventory: Inventory) -> None:
        """Adopt a reloaded inventory, keeping the history of devices that stay."""
        for _ in self.replace_steps(inventory):
            pass

    def replace_steps(self, inventory: Inventory) -> Generator[None, None, None]:
        """replace_inventory() with a pause (a yield) every REPLACE_SLICE devices (one piece
        held the loop 9-12 ms at 50,000 devices; issue 10). The new table is built aside and
        adopted whole in the last piece: an observation between pieces lands in the old one,
        whose DeviceStates the new one shares."""
        old = self.devices
        devices: dict[str, DeviceState] = {}
        moved: list[tuple[DeviceState, Device]] = []  # a device that stays, as reloaded
        for i, (name, device) in enumerate(inventory.devices.items(), 1):
            ds = old.get(name)
            if ds is None:
                ds = DeviceState(device)
            elif ds.device is not device:
                moved.append((ds, device))
            devices[name] = ds
            if i % REPLACE_SLICE == 0:
                yield
        for ds, device in moved:
            ds.device = device
        self.devices = devices
        self.inventory = inventory

    def record(self, obs: Observation) -> None:
        """Apply an observation through the collector that owns its type, then notify."""
        plugin = plugin_for(obs)  # a TypeError for a type no collector registered
        ds = self.devices.get(obs.device)
        if ds is None:  # removed by a reload while its round was in flight
            return
        plugin.record_into(ds.parts, obs)
        for listener in self._listeners:
            listener(ds, obs)

    def village_status(self, code: str) -> VillageStatus:
        """Up: router and every AP serve; degraded: router and some APs, or a service fails."""
        village = self.inventory.villages.get(code)
        if village is None:
            return VillageStatus.UNKNOWN
        # One pass, counts instead of lists: a scrape asks this of every village (issue 10).
        judged = aps = serving = 0
        undecided = router_down = impaired = False
        devices = self.devices  # one read: a reload swaps the dict, never mutates it
        for name in village.devices:
            ds = devices.get(name)
            if ds is None:
                return VillageStatus.UNKNOWN
            v = ds.verdict()
            health = None if v is None else v.health
            if health is Health.IMPAIRED:
                impaired = True
            role = ds.device.role
            if role is Role.ROUTER:
                judged += 1
                if health is None:
                    undecided = True
                elif health >= Health.NOT_SERVING:
                    router_down = True
            elif role is Role.AP:
                judged += 1
                aps += 1
                if health is None:
                    undecided = True
                elif health <= Health.IMPAIRED:
                    serving += 1
        if not judged or undecided:
            return VillageStatus.UNKNOWN
        if router_down:
            return VillageStatus.DOWN
        if serving == aps:
            return VillageStatus.DEGRADED if impaired else VillageStatus.UP
        return VillageStatus.DEGRADED if serving else VillageStatus.DOWN

    def village_counts(self) -> dict[VillageStatus, int]:
        counts = dict.fromkeys(VillageStatus, 0)
        for code in self.inventory.villages:
            counts[self.village_status(code)] += 1
        return counts
