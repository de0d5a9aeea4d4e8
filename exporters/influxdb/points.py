"""Samples → line protocol: the points of each observation, and village and alert snapshots.

A collector's EVENT samples name their measurement and field (netwatch.core.samples); samples
of one measurement, tag set and time make one point. Tag blocks are escaped once per device and
cached (rebuilt when the inventory object changes). Field types never change per field name
(InfluxDB rejects a type change), and no tag shares a name with a field (InfluxDB 3 forbids it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple, Protocol

from netwatch.core.model import Device, Inventory
from netwatch.core.samples import Field, Labels, Measurement, Sample
from netwatch.core.state import State, VillageStatus
from netwatch.exporters.influxdb.lineproto import (
    PRECISIONS,
    FieldValue,
    escape_key,
    escape_measurement,
    field_block,
    tag_block,
    timestamp,
)

VILLAGE = "netwatch_village"
ALERT = "netwatch_alert"

# Integer codes for the village status, so InfluxQL/Flux can aggregate it (0 = no data yet).
STATUS_CODE = {
    VillageStatus.UNKNOWN: 0,
    VillageStatus.UP: 1,
    VillageStatus.DEGRADED: 2,
    VillageStatus.DOWN: 3,
}


class AlertPoint(Protocol):
    """What an alert snapshot point needs of an alert (netwatch.alerting.types.Alert has it)."""

    @property
    def labels(self) -> Mapping[str, str]: ...

    @property
    def starts_at(self) -> float: ...

    @property
    def ends_at(self) -> float | None: ...

    @property
    def acknowledged_by(self) -> str | None: ...


def device_tags(inventory: Inventory, device: Device) -> dict[str, str | None]:
    district = inventory.districts.get(device.district)
    village = inventory.villages.get(device.village) if device.village else None
    return {
        "device": device.name,
        "role": str(device.role),
        "district": device.district,
        "district_name": district.name if district else None,
        "village": device.village,
        "village_name": village.name if village else None,
    }


class _Format(NamedTuple):
    """How one field is written: escaped "key=", integer or float, and a whole float's ".0"."""

    prefix: str
    integer: bool
    strip_point_zero: bool
    measurement: Measurement
    key: str

    @classmethod
    def of(cls, f: Field) -> _Format:
        m = f.measurement
        return cls(escape_key(f.key) + "=", f.integer, not m.keep_point_zero, m, f.key)


class PointBuilder:
    """Formats netwatch's data as lines at one precision."""

    def __init__(self, inventory: Inventory, precision: str = "ms") -> None:
        self.precision = precision
        self._ts_scale = PRECISIONS[precision]
        self._inventory = inventory
        self._device_heads: dict[tuple[str, str, Labels], str] = {}
        self._village_heads: dict[str, str] = {}
        self._formats: dict[Field, _Format] = {}  # per field (hashed by identity)

    def _check_inventory(self, inventory: Inventory) -> None:
        if inventory is not self._inventory:  # reloaded: names may have changed
            self._inventory = inventory
            self._device_heads.clear()
            self._village_heads.clear()

    def device_head(
        self,
        measurement: str,
        device: Device,
        inventory: Inventory,
        extra: Labels = (),
    ) -> str:
        """Escaped 'measurement,tags' of a device, with extra tags (a device tag wins)."""
        self._check_inventory(inventory)
        key = (measurement, device.name, extra)
        head = self._device_heads.get(key)
        if head is None:
            tags: dict[str, str | None] = dict(extra)
            tags.update(device_tags(inventory, device))
            head = escape_measurement(measurement) + tag_block(tags)
            self._device_heads[key] = head
        return head

    def timestamp(self, seconds: float) -> int:
        return timestamp(seconds, self.precision)

    def lines(self, device: Device, inventory: Inventory, samples: Iterable[Sample]) -> list[str]:
        """The points of one observation from its EVENT samples, in the order first seen."""
        points: dict[tuple[Measurement, Labels, float], dict[str, str]] = {}
        formats = self._formats
        fields: dict[str, str] = {}
        cur_m: Measurement | None = None
        cur_labels: Labels | None = None
        cur_t = 0.0
        for fam, value, labels, t in samples:
            f = fam.field
            if f is None or t is None:
                continue
            fmt = formats.get(f)
            if fmt is None:
                fmt = formats[f] = _Format.of(f)
            prefix, integer, strip, m, key = fmt
            # Samples of one point usually come together: look the point up only on a change.
            if m is not cur_m or labels is not cur_labels or t != cur_t:
                got = points.get((m, labels, t))
                if got is None:
                    got = points[(m, labels, t)] = {}
                fields, cur_m, cur_labels, cur_t = got, m, labels, t
            if integer:
                fields[key] = f"{prefix}{int(value)}i"
                continue
            text = repr(float(value))
            if text[-1] in "fn":
                continue  # inf, nan: line protocol has no such value
            if strip and text[-2:] == ".0":
                text = text[:-2]
            fields[key] = prefix + text
        out = []
        scale = self._ts_scale
        for (m, labels, t), got in points.items():
            if not got:
                continue
            fb = ",".join([got[k] for k in sorted(got)] if m.sorted_fields else got.values())
            head = self.device_head(m.name, device, inventory, labels)
            out.append(f"{head} {fb} {round(t * scale)}")
        return out

    def villages(self, state: State, now: float) -> Iterator[str]:
        """One netwatch_village point per village: status and device counts."""
        inventory = state.inventory
        self._check_inventory(inventory)
        ts = timestamp(now, self.precision)
        for code, village in inventory.villages.items():
            head = self._village_heads.get(code)
            if head is None:
                district = inventory.districts.get(village.district)
                head = escape_measurement(VILLAGE) + tag_block(
                    {
                        "village": code,
                        "village_name": village.name,
                        "district": village.district,
                        "district_name": district.name if district else None,
                    }
                )
                self._village_heads[code] = head
            status = state.village_status(code)
            devices = [state.devices[n] for n in village.devices if n in state.devices]
            up = sum(1 for d in devices if d.up)
            code_num = STATUS_CODE.get(status)  # a status added later has no code yet
            fields = (
                f'status="{status.value}",'
                + ("" if code_num is None else f"status_code={code_num}i,")
                + f"devices={len(devices)}i,devices_up={up}i"
            )
            # wifi_up (as netwatch_village_wifi_up) lets InfluxQL take uptime as mean("wifi_up");
            # coordinates feed the Geomap panel of the InfluxDB overview dashboard.
            if status is not VillageStatus.UNKNOWN:
                fields += f",wifi_up={0 if status is VillageStatus.DOWN else 1}i"
            if village.lat is not None and village.lon is not None:
                fields += f",latitude={village.lat:.6f},longitude={village.lon:.6f}"
            yield f"{head} {fields} {ts}"

    def alerts(self, alerts: Iterable[AlertPoint], now: float) -> Iterator[str]:
        """One netwatch_alert point per firing alert (of the alert snapshot, or types.Alert)."""
        ts = timestamp(now, self.precision)
        for alert in alerts:
            labels = alert.labels
            if alert.ends_at is not None or "alertname" not in labels:
                continue
            tags = {
                k: labels.get(k)
                for k in (
                    "alertname",
                    "severity",
                    "village",
                    "village_name",
                    "district",
                    "district_name",
                    "device",
                )
            }
            fields: dict[str, FieldValue | None] = {
                "firing": 1,
                "active_seconds": max(0.0, float(now - alert.starts_at)),
                "acknowledged": 1 if alert.acknowledged_by else 0,
            }
            fb = field_block(fields)
            yield f"{escape_measurement(ALERT)}{tag_block(tags)} {fb} {ts}"
