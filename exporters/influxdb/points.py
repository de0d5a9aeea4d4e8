"""State → line protocol: a point per observation, and periodic village and alert snapshots.

Tag blocks are escaped once per device/village and cached (rebuilt when the inventory object
changes), so a point costs one f-string. Field types never change per field name (InfluxDB
rejects a type change), and no tag shares a name with a field (InfluxDB 3 forbids it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from netwatch.alerting.snapshot import AlertRecord
from netwatch.core.model import Device, Inventory
from netwatch.core.observations import PingObservation
from netwatch.core.state import DeviceState, State, VillageStatus
from netwatch.exporters.influxdb.lineproto import (
    PRECISIONS,
    FieldValue,
    escape_measurement,
    field_block,
    tag_block,
    timestamp,
)

PING = "netwatch_ping"
VILLAGE = "netwatch_village"
ALERT = "netwatch_alert"

# Integer codes for the village status, so InfluxQL/Flux can aggregate it (0 = no data yet).
STATUS_CODE = {
    VillageStatus.UNKNOWN: 0,
    VillageStatus.UP: 1,
    VillageStatus.DEGRADED: 2,
    VillageStatus.DOWN: 3,
}


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


class PointBuilder:
    """Formats netwatch's data as lines at one precision."""

    def __init__(self, inventory: Inventory, precision: str = "ms") -> None:
        self.precision = precision
        self._ts_scale = PRECISIONS[precision]
        self._inventory = inventory
        self._device_heads: dict[tuple, str] = {}
        self._village_heads: dict[str, str] = {}

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
        extra: tuple[tuple[str, str], ...] = (),
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

    def ping(self, ds: DeviceState, obs: PingObservation, inventory: Inventory) -> str:
        # The hot path (one point per round): plain repr() floats, no per-field helpers.
        res = obs.result
        fields = (
            f"sent={res.sent}i,received={res.received}i,up={1 if ds.up else 0}i,"
            f"loss_ratio={float(res.loss_ratio)!r},duration_seconds={float(obs.duration)!r}"
        )
        if res.rtts:
            extra = [
                ("rtt_min_seconds", res.rtt_min),
                ("rtt_avg_seconds", res.rtt_avg),
                ("rtt_max_seconds", res.rtt_max),
                ("jitter_seconds", res.jitter),
            ]
            for name, value in extra:
                if value is not None:
                    text = repr(float(value))
                    if text[-1] not in "fn":  # inf, nan: line protocol has no such value
                        fields += f",{name}={text}"
        head = self.device_head(PING, ds.device, inventory)
        return f"{head} {fields} {round(obs.time * self._ts_scale)}"

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

    def alerts(self, alerts: Iterable[AlertRecord], now: float) -> Iterator[str]:
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
