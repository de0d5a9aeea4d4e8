"""State: the latest observation per device, device up/down, and the village rollup.

Collectors write observations here through the scheduler; exporters, alerting and the web
read it. Nothing here does I/O.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from netwatch.collectors.snmp.state import SnmpDeviceState
from netwatch.core.model import Device, Inventory, Role
from netwatch.core.observations import PingObservation, SnmpObservation


class VillageStatus(enum.StrEnum):
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"
    UNKNOWN = "unknown"  # no complete round yet


@dataclass(slots=True)
class DeviceState:
    device: Device
    up: bool | None = None  # None until the first round
    reason: str = ""  # why it is down ("no reply", "unresolvable: ...")
    since: float = 0.0  # unix time of the last up/down change
    last_ping: PingObservation | None = None
    echo_sent_total: int = 0
    echo_received_total: int = 0
    snmp: SnmpDeviceState | None = None  # None until the first SNMP poll


Listener = Callable[[DeviceState, object], None]


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
        old = self.devices
        self.devices = {}
        for name, device in inventory.devices.items():
            ds = old.get(name)
            if ds is None:
                ds = DeviceState(device)
            else:
                ds.device = device
            self.devices[name] = ds
        self.inventory = inventory

    def record(self, obs: object) -> None:
        """Apply any observation; dispatch by its type (one recorder per collector)."""
        recorder = _RECORDERS.get(type(obs))
        if recorder is None:
            raise TypeError(f"no recorder for {type(obs).__name__}")
        recorder(self, obs)

    def _notify(self, ds: DeviceState, obs: object) -> None:
        for listener in self._listeners:
            listener(ds, obs)

    def record_ping(self, obs: PingObservation) -> None:
        ds = self.devices.get(obs.device)
        if ds is None:  # removed by a reload while its round was in flight
            return
        res = obs.result
        ds.last_ping = obs
        ds.echo_sent_total += res.sent
        ds.echo_received_total += res.received
        if res.error:
            up, reason = False, res.error
        elif res.received == 0:
            up, reason = False, "no reply"
        else:
            up, reason = True, ""
        if up != ds.up:
            ds.since = obs.time
        ds.up, ds.reason = up, reason
        self._notify(ds, obs)

    def record_snmp(self, obs: SnmpObservation) -> None:
        ds = self.devices.get(obs.device)
        if ds is None:  # removed by a reload while its poll was in flight
            return
        if ds.snmp is None:
            ds.snmp = SnmpDeviceState()
        ds.snmp.apply(obs)
        self._notify(ds, obs)

    def village_status(self, code: str) -> VillageStatus:
        """Up: router and every AP answer; degraded: router and some APs; else down."""
        village = self.inventory.villages.get(code)
        if village is None:
            return VillageStatus.UNKNOWN
        routers: list[bool | None] = []
        aps: list[bool | None] = []
        devices = self.devices  # one read: a reload swaps the dict, never mutates it
        for name in village.devices:
            ds = devices.get(name)
            if ds is None:
                return VillageStatus.UNKNOWN
            if ds.device.role is Role.ROUTER:
                routers.append(ds.up)
            elif ds.device.role is Role.AP:
                # An AP that answers ping but whose radios are all oper-down serves no Wi-Fi.
                serving = ds.up
                if serving and ds.snmp is not None and ds.snmp.wifi_down():
                    serving = False
                aps.append(serving)
        states = routers + aps
        if not states or any(s is None for s in states):
            return VillageStatus.UNKNOWN
        if not all(routers):
            return VillageStatus.DOWN
        answering = sum(1 for s in aps if s)
        if answering == len(aps):
            return VillageStatus.UP
        return VillageStatus.DEGRADED if answering else VillageStatus.DOWN

    def village_counts(self) -> dict[VillageStatus, int]:
        counts = dict.fromkeys(VillageStatus, 0)
        for code in self.inventory.villages:
            counts[self.village_status(code)] += 1
        return counts


# Observation type → State method; a new collector adds its own entry.
_RECORDERS: dict[type, Callable[[State, object], None]] = {
    PingObservation: State.record_ping,  # type: ignore[dict-item]
    SnmpObservation: State.record_snmp,  # type: ignore[dict-item]
}


def now() -> float:
    return time.time()
