"""The inventory and village rollup families: device, village, district and regency facts, status.

`InventoryFamilies` is a metric source two ways: called with the state it returns client_python
Metric objects (the reference the tests compare against), and `text(ctx)` writes the same
samples straight to text in slices (about 1 µs a village, 0.4 µs a device), reusing the
device label texts of the exposition's device table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from typing import Protocol

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.samples import Sample as PromSample

from netwatch.core.model import Device, District, Inventory, Village
from netwatch.core.state import State, VillageStatus
from netwatch.exporters.deflate_segments import Kept, kept_slices
from netwatch.exporters.prometheus_format import TextFamily, VillageLabels, escape, label_text
from netwatch.exporters.prometheus_rollup import STATUS_INDEX, STATUSES, VillageStatuses
from netwatch.exporters.prometheus_series import DeviceTable

DEVICE_LABELS = ["device", "role", "village", "district"]
SLICE = 2_000  # villages or devices per slice of a scrape

_new_sample = tuple.__new__  # Sample's generated __new__ costs more than the rest of add
_SAMPLE_PAD = (None,) * (len(PromSample._fields) - 3)  # timestamp, exemplar, ... unused here


class TextContext(Protocol):
    """What a text source reads: state, and the exposition's device label texts."""

    @property
    def state(self) -> State: ...

    @property
    def devices(self) -> DeviceTable: ...

    @property
    def reuse(self) -> bool:
        """A gzip scrape: facts that did not change may come as kept slices (`Kept`)."""
        ...


def add_sample(family: Metric, labels: dict[str, str], value: float) -> None:
    """Append a sample that shares the caller's labels dict (add_metric copies it)."""
    name = family.name + "_total" if family.type == "counter" else family.name
    family.samples.append(_new_sample(PromSample, (name, labels, value, *_SAMPLE_PAD)))


def device_labels(d: Device) -> dict[str, str]:
    return {"device": d.name, "role": d.role.value, "village": d.village or "",
            "district": d.district}  # fmt: skip


DEVICE_INFO = ("netwatch_device_info", "Device facts from the inventory; always 1.")
VILLAGE_INFO = (
    "netwatch_village_info",
    "Village facts from the inventory (names, kind, coordinates); always 1.",
)
DISTRICT_INFO = ("netwatch_district_info", "District facts from the inventory; always 1.")
REGENCY_INFO = (
    "netwatch_regency_info",
    "Regency (kabupaten/kota) facts from the inventory; always 1.",
)
WIFI_UP = (
    "netwatch_village_wifi_up",
    "1 if the village's free Wi-Fi is up (up or degraded), 0 if down; absent while unknown.",
)
STATUS = (
    "netwatch_village_status",
    "1 for the village's current status (up, degraded, down, unknown), 0 for the others.",
)


def _coordinate(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


class InventoryFamilies:
    """Inventory facts and the village rollup, as Metric objects or straight to text."""

    __name__ = "inventory_families"  # how the exposition names a failing source

    def __init__(self) -> None:
        self._villages = VillageLabels()
        self._inventory: Inventory | None = None
        # Device and village facts change only with a reload: their slices are kept for gzip
        # scrapes, by (family, first index), with the device table's epoch and the inventory.
        self._kept: dict[tuple[str, int], Kept] = {}
        self._generation = 0  # moves with each inventory (a reload)
        self._statuses = VillageStatuses()

    def __call__(self, state: State) -> Iterable[Metric]:
        inventory = state.inventory
        device_info = GaugeMetricFamily(*DEVICE_INFO, labels=[*DEVICE_LABELS, "address", "parent"])
        for ds in list(state.devices.values()):
            d = ds.device
            add_sample(device_info, {**device_labels(d), "address": d.address,
                                     "parent": d.parent or ""}, 1)  # fmt: skip
        info = GaugeMetricFamily(
            *VILLAGE_INFO,
            labels=["village", "village_name", "district", "district_name", "kind",
                    "latitude", "longitude"],
        )  # fmt: skip
        wifi_up = GaugeMetricFamily(*WIFI_UP, labels=["village", "district"])
        status = GaugeMetricFamily(*STATUS, labels=["village", "district", "status"])
        for code, village in inventory.villages.items():
            district = inventory.districts[village.district]
            info.add_metric(
                [code, village.name, district.code, district.name, village.kind.value,
                 _coordinate(village.lat), _coordinate(village.lon)],
                1,
            )  # fmt: skip
            current = state.village_status(code)
            for s in VillageStatus:
                status.add_metric([code, district.code, s.value], 1.0 if s is current else 0.0)
            if current is not VillageStatus.UNKNOWN:
                up = 0.0 if current is VillageStatus.DOWN else 1.0
                wifi_up.add_metric([code, district.code], up)
        district_info = GaugeMetricFamily(
            *DISTRICT_INFO,
            labels=["district", "district_name", "regency", "regency_name", "province"],
        )
        regency_info = GaugeMetricFamily(
            *REGENCY_INFO, labels=["regency", "regency_name", "province", "province_name"]
        )
        for district_row in _districts(inventory):
            district_info.add_metric(list(district_row), 1)
        for regency_row in _regencies(inventory):
            regency_info.add_metric(list(regency_row), 1)
        return (device_info, info, district_info, regency_info, wifi_up, status)

    def text(self, ctx: TextContext) -> Iterator[TextFamily]:
        state = ctx.state
        inventory = state.inventory
        if inventory is not self._inventory:  # reloaded: villages may have gone
            self._villages.keep_only(inventory.villages)
            self._inventory = inventory
            self._generation += 1
            self._kept.clear()  # every key named the old generation
        table = ctx.devices
        village_list = list(inventory.villages.values())
        device_slice = partial(_device_info, table)
        village_slice = partial(_village_info, village_list, inventory.districts)
        device_starts = range(0, len(table.devices), SLICE)
        village_starts = range(0, len(village_list), SLICE)
        if ctx.reuse:
            key = (table.epoch, self._generation)
            devices: Iterable[str] | Iterable[Kept] = self._reuse(
                DEVICE_INFO[0], key, device_starts, device_slice
            )
            villages: Iterable[str] | Iterable[Kept] = self._reuse(
                VILLAGE_INFO[0], key, village_starts, village_slice
            )
        else:
            devices = map(device_slice, device_starts)
            villages = map(village_slice, village_starts)
        yield TextFamily(DEVICE_INFO[0], "gauge", DEVICE_INFO[1], devices)  # type: ignore[arg-type]
        yield TextFamily(VILLAGE_INFO[0], "gauge", VILLAGE_INFO[1], villages)  # type: ignore[arg-type]
        districts = "".join(
            [f"netwatch_district_info{{{_labels(DISTRICT_KEYS, row)}}} 1.0\n"
             for row in _districts(inventory)]
        )  # fmt: skip
        yield TextFamily(DISTRICT_INFO[0], "gauge", DISTRICT_INFO[1], (districts,))
        regencies = "".join(
            [f"netwatch_regency_info{{{_labels(REGENCY_KEYS, row)}}} 1.0\n"
             for row in _regencies(inventory)]
        )  # fmt: skip
        yield TextFamily(REGENCY_INFO[0], "gauge", REGENCY_INFO[1], (regencies,))
        if not self._statuses.fresh:  # refresh() was not called for this scrape
            for _ in self._statuses.update(state, table, self._villages):
                pass
        self._statuses.fresh = False
        rollup = _Rollup(self._statuses.labels, self._statuses.current)
        rollup_starts = range(0, len(rollup.villages), SLICE)
        wifi_up: Iterable[str] | Iterable[Kept]
        status: Iterable[str] | Iterable[Kept]
        if ctx.reuse:  # statuses change seldom: a slice is kept while its villages' stay
            wifi_up = self._by_status(WIFI_UP[0], rollup, rollup_starts, rollup.wifi_up)
            status = self._by_status(STATUS[0], rollup, rollup_starts, rollup.status)
        else:
            wifi_up = map(rollup.wifi_up, rollup_starts)
            status = map(rollup.status, rollup_starts)
        yield TextFamily(WIFI_UP[0], "gauge", WIFI_UP[1], wifi_up)  # type: ignore[arg-type]
        yield TextFamily(STATUS[0], "gauge", STATUS[1], status)  # type: ignore[arg-type]

    def refresh(self, ctx: TextContext) -> Iterator[None]:
        """The villages' statuses for the next text(ctx), a slice of work at a time."""
        return self._statuses.update(ctx.state, ctx.devices, self._villages)

    def _by_status(
        self, name: str, rollup: _Rollup, starts: range, write: Callable[[int], str]
    ) -> Iterator[Kept]:
        """Rollup slices keyed by the inventory and their villages' statuses (computed anyway)."""
        return kept_slices(
            self._kept, name, starts, lambda a: (self._generation, rollup.key(a)), write
        )

    def _reuse(
        self, name: str, key: tuple[object, ...], starts: range, write: Callable[[int], str]
    ) -> Iterator[Kept]:
        """Each slice kept from the last gzip scrape if the key holds (not written again)."""
        return kept_slices(self._kept, name, starts, lambda _: key, write)


DISTRICT_KEYS = ("district", "district_name", "regency", "regency_name", "province")
REGENCY_KEYS = ("regency", "regency_name", "province", "province_name")


def _labels(keys: tuple[str, ...], values: tuple[str, ...]) -> str:
    return label_text(zip(keys, values, strict=True))


def _districts(inventory: Inventory) -> Iterator[tuple[str, str, str, str, str]]:
    for district in inventory.districts.values():
        regency = inventory.regency_of(district.code)
        yield (district.code, district.name, regency.code, regency.name, regency.province)


def _regencies(inventory: Inventory) -> Iterator[tuple[str, str, str, str]]:
    seen = set()
    for district in inventory.districts.values():
        if district.regency in seen:
            continue
        seen.add(district.regency)
        regency = inventory.regency_of(district.code)
        province = inventory.province_name(regency.code)
        yield (regency.code, regency.name, regency.province, province)


def _device_info(table: DeviceTable, a: int) -> str:
    """The slice of device facts from slot a."""
    devices, labels = table.devices, table.labels
    return "".join(
        [
            f'netwatch_device_info{{{text},address="{escape(d.address)}",'
            f'parent="{escape(d.parent or "")}"}} 1.0\n'
            for d, text in zip(devices[a : a + SLICE], labels[a : a + SLICE], strict=True)
            if d is not None
        ]
    )


def _village_info(villages: list[Village], districts: Mapping[str, District], a: int) -> str:
    """The slice of village facts from index a."""
    out = []
    for v in villages[a : a + SLICE]:
        district = districts[v.district]
        out.append(
            f'netwatch_village_info{{village="{escape(v.code)}",'
            f'village_name="{escape(v.name)}",district="{escape(district.code)}",'
            f'district_name="{escape(district.name)}",kind="{v.kind.value}",'
            f'latitude="{_coordinate(v.lat)}",longitude="{_coordinate(v.lon)}"}} 1.0\n'
        )
    return "".join(out)


def _status_block(current: VillageStatus) -> tuple[str, ...]:
    return tuple(f'{s.value}"}} {"1.0" if s is current else "0.0"}\n' for s in STATUSES)


_STATUS_TAILS = [_status_block(s) for s in STATUSES]  # by status index
_UNKNOWN = STATUS_INDEX[VillageStatus.UNKNOWN]
_DOWN = STATUS_INDEX[VillageStatus.DOWN]


class _Rollup:
    """The rollup families' slices from the villages' statuses (indices in STATUSES)."""

    def __init__(self, labels: list[str], current: bytearray) -> None:
        self.villages = labels
        self.current = current

    def key(self, a: int) -> bytes:
        """The slice's statuses, one byte a village."""
        return bytes(self.current[a : a + SLICE])

    def wifi_up(self, a: int) -> str:
        out = []
        for labels, current in zip(
            self.villages[a : a + SLICE], self.current[a : a + SLICE], strict=True
        ):
            if current != _UNKNOWN:
                up = "0.0" if current == _DOWN else "1.0"
                out.append(f"netwatch_village_wifi_up{{{labels}}} {up}\n")
        return "".join(out)

    def status(self, a: int) -> str:
        out = []
        for labels, current in zip(
            self.villages[a : a + SLICE], self.current[a : a + SLICE], strict=True
        ):
            head = f'netwatch_village_status{{{labels},status="'
            out.extend([head + tail for tail in _STATUS_TAILS[current]])
        return "".join(out)


inventory_families = InventoryFamilies()
