"""Prometheus exporter: /metrics from the sample stream and a snapshot of state.

Sources are collector plugins (samples, rendered here generically) and *metric sources*:
functions ``families(state) -> Iterable[Metric]`` (the inventory and village rollup below, the
alert engine's families). The text format goes through `Exposition.render`: a device's lines
per family are rendered once after each observation that changed it (keyed by its state's
version) and joined at scrape time, so a scrape costs a join per family, not an object per
sample (issue 10). OpenMetrics requests and the tests use `StateCollector`, which builds
client_python Metric objects from the same samples (checked against each other in tests).
Around 400 lines: both renderings of the same samples stay side by side, so they stay equal.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Sequence
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.samples import Sample as PromSample

from netwatch.core import telemetry
from netwatch.core.model import Device, Regency
from netwatch.core.plugins import AnyPlugin, registered
from netwatch.core.samples import Family, Kind, Labels, Sample, View
from netwatch.core.state import State, VillageStatus

log = logging.getLogger(__name__)


class MetricSource(Protocol):
    """Families built from state at scrape time (client_python's custom collector shape)."""

    def __call__(self, state: State, /) -> Iterable[Metric]: ...


Source = AnyPlugin | MetricSource

DEVICE_LABELS = ["device", "role", "village", "district"]

_new_sample = tuple.__new__  # Sample's generated __new__ costs more than the rest of add
_SAMPLE_PAD = (None,) * (len(PromSample._fields) - 3)  # timestamp, exemplar, ... unused here


def add_sample(family: Metric, labels: dict[str, str], value: float) -> None:
    """Append a sample that shares the caller's labels dict.

    One dict per device for all its samples is cheaper to build, and render_text formats it
    once; client_python's add_metric would copy it for every sample.
    """
    name = family.name + "_total" if family.type == "counter" else family.name
    family.samples.append(_new_sample(PromSample, (name, labels, value, *_SAMPLE_PAD)))


def device_labels(d: Device) -> dict[str, str]:
    return {"device": d.name, "role": d.role.value, "village": d.village or "",
            "district": d.district}  # fmt: skip


def inventory_families(state: State) -> Iterable[Metric]:
    """Inventory facts and the village rollup: device, village and district info, status."""
    inventory = state.inventory
    device_info = GaugeMetricFamily(
        "netwatch_device_info",
        "Device facts from the inventory; always 1.",
        labels=[*DEVICE_LABELS, "address", "parent"],
    )
    for ds in list(state.devices.values()):
        d = ds.device
        add_sample(device_info, {**device_labels(d), "address": d.address,
                                 "parent": d.parent or ""}, 1)  # fmt: skip
    info = GaugeMetricFamily(
        "netwatch_village_info",
        "Village facts from the inventory (names, kind, coordinates); always 1.",
        labels=[
            "village",
            "village_name",
            "district",
            "district_name",
            "kind",
            "latitude",
            "longitude",
        ],
    )
    wifi_up = GaugeMetricFamily(
        "netwatch_village_wifi_up",
        "1 if the village's free Wi-Fi is up (up or degraded), 0 if down; absent while unknown.",
        labels=["village", "district"],
    )
    status = GaugeMetricFamily(
        "netwatch_village_status",
        "1 for the village's current status (up, degraded, down, unknown), 0 for the others.",
        labels=["village", "district", "status"],
    )
    for code, village in inventory.villages.items():
        district = inventory.districts[village.district]
        info.add_metric(
            [
                code,
                village.name,
                district.code,
                district.name,
                village.kind.value,
                "" if village.lat is None else f"{village.lat:.6f}",
                "" if village.lon is None else f"{village.lon:.6f}",
            ],
            1,
        )
        current = state.village_status(code)
        for s in VillageStatus:
            status.add_metric([code, district.code, s.value], 1.0 if s is current else 0.0)
        if current is not VillageStatus.UNKNOWN:
            wifi_up.add_metric([code, district.code], 0.0 if current is VillageStatus.DOWN else 1.0)
    district_info = GaugeMetricFamily(
        "netwatch_district_info",
        "District facts from the inventory; always 1.",
        labels=["district", "district_name", "regency", "regency_name", "province"],
    )
    regency_info = GaugeMetricFamily(
        "netwatch_regency_info",
        "Regency (kabupaten/kota) facts from the inventory; always 1.",
        labels=["regency", "regency_name", "province", "province_name"],
    )
    regencies: dict[str, Regency] = {}
    for district in inventory.districts.values():
        regency = regencies.setdefault(district.regency, inventory.regency_of(district.code))
        district_info.add_metric(
            [district.code, district.name, regency.code, regency.name, regency.province], 1
        )
    for regency in regencies.values():
        province = inventory.province_name(regency.code)
        regency_info.add_metric([regency.code, regency.name, regency.province, province], 1)
    return (device_info, info, district_info, regency_info, wifi_up, status)


def default_sources() -> list[Source]:
    """Inventory and rollup first, then every collector registered so far."""
    return [inventory_families, *registered()]


# -- text encoding ---------------------------------------------------------------------------


def _escape(value: str) -> str:
    if "\\" in value or '"' in value or "\n" in value:
        return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return value


def _format_value(value: float) -> str:
    if value != value:
        return "NaN"
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    return repr(float(value))


def _header(series: str, help_text: str, kind: str) -> str:
    doc = help_text.replace("\\", "\\\\").replace("\n", "\\n")
    return f"# HELP {series} {doc}\n# TYPE {series} {kind}\n"


def render_text(families: Iterable[Metric], into: bytearray | None = None) -> bytearray:
    """Prometheus text format 0.0.4 for gauge and counter families (no timestamps).

    Each family is encoded as soon as it is formatted, so a 15 MB scrape never holds its
    lines as str, joined str and bytes at once (measured: that tripled the scrape's memory).
    """
    buf = bytearray() if into is None else into
    rendered: dict[int, str] = {}  # id(labels dict) → its text; the dicts live until we return
    keep: list[object] = []
    for family in families:
        name = family.name + "_total" if family.type == "counter" else family.name
        kind = family.type if family.type in ("gauge", "counter") else "untyped"
        out = [_header(name, family.documentation, kind)]
        append = out.append
        for sample in family.samples:
            if sample.labels:
                labels = rendered.get(id(sample.labels))
                if labels is None:
                    labels = ",".join([f'{k}="{_escape(v)}"' for k, v in sample.labels.items()])
                    rendered[id(sample.labels)] = labels
                    keep.append(sample.labels)
                append(f"{sample.name}{{{labels}}} {_format_value(sample.value)}\n")
            else:
                append(f"{sample.name} {_format_value(sample.value)}\n")
        buf += "".join(out).encode()
    return buf


# -- samples → text, cached per device ------------------------------------------------------


class _Rendered:
    """One device's lines per family, valid while its state version and Device stay."""

    __slots__ = ("device", "keys", "rows", "text", "version")

    def __init__(self, device: Device, version: int) -> None:
        self.device = device
        self.version = version
        self.text: dict[str, bytes] = {}  # family name → the device's lines of it, encoded
        # Open-label families only: each sample's label names and (labels, value), so that a
        # scrape can write the union of names over every device.
        self.keys: dict[str, set[tuple[str, ...]]] = {}
        self.rows: dict[str, list[tuple[Labels, float]]] = {}


def _kind(family: Family) -> str:
    return "counter" if family.kind is Kind.COUNTER else "gauge"


class PluginText:
    """A collector's families as text; a device is re-rendered only when its state changed."""

    def __init__(self, plugin: AnyPlugin) -> None:
        self.plugin = plugin
        self._cache: dict[str, _Rendered] = {}
        self._dynamic: dict[str, Family] = {}  # families met in samples but not declared
        self._declared = {f.name for f in plugin.families}

    def _render(self, device: Device, part_version: int, samples: Iterable[Sample]) -> _Rendered:
        r = _Rendered(device, part_version)
        prefix = ",".join(f'{k}="{_escape(v)}"' for k, v in device_labels(device).items())
        lines: dict[str, list[str]] = {}
        label_text: dict[int, str] = {}
        keep: list[Labels] = []  # the label tuples stay alive while their id() is a key
        declared, dynamic = self._declared, self._dynamic
        for fam, value, labels, _time in samples:
            name = fam.name
            out = lines.get(name)
            if out is None:
                out = lines[name] = []
                if name not in declared and name not in dynamic:
                    dynamic[name] = fam
            if fam.open_labels:
                r.keys.setdefault(name, set()).add(tuple(k for k, _ in labels))
                r.rows.setdefault(name, []).append((labels, value))
            if labels:
                text = label_text.get(id(labels))
                if text is None:
                    text = prefix + "".join([f',{k}="{_escape(v)}"' for k, v in labels])
                    label_text[id(labels)] = text
                    keep.append(labels)
            else:
                text = prefix
            out.append(f"{fam.series}{{{text}}} {_format_value(value)}\n")
        r.text = {name: "".join(out).encode() for name, out in lines.items()}
        return r

    def _entries(self, state: State) -> list[_Rendered]:
        plugin, cache = self.plugin, self._cache
        name = plugin.name
        entries = []
        for ds in list(state.devices.values()):
            part = ds.parts.get(name)
            if part is None:
                continue
            device, version = ds.device, part.version
            r = cache.get(device.name)
            if r is None or r.version != version or r.device is not device:
                r = self._render(device, version, plugin.samples_of(device, part, View.STATE))
                cache[device.name] = r
            entries.append(r)
        if len(cache) > len(entries):  # devices removed by a reload
            live = {r.device.name for r in entries}
            for gone in [n for n in cache if n not in live]:
                del cache[gone]
        return entries

    def families(self) -> list[Family]:
        return [*self.plugin.families, *sorted(self._dynamic.values(), key=lambda f: f.name)]

    def render(self, state: State, into: bytearray) -> None:
        entries = self._entries(state)
        for fam in self.families():
            name = fam.name
            if name in self._dynamic and not any(name in r.text for r in entries):
                continue  # a vendor family no device reports any more
            into += _header(fam.series, fam.help, _kind(fam)).encode()
            if fam.open_labels:
                into += b"".join(self._open_family(fam, entries))
            else:
                into += b"".join([t for r in entries if (t := r.text.get(name)) is not None])

    def _open_family(self, fam: Family, entries: Sequence[_Rendered]) -> list[bytes]:
        """Devices' lines of a family whose samples differ in label names: the union, sorted."""
        name = fam.name
        keysets: set[tuple[str, ...]] = set()
        for r in entries:
            keysets |= r.keys.get(name, set())
        union = tuple(sorted({k for ks in keysets for k in ks}))
        out = []
        for r in entries:
            text = r.text.get(name)
            if text is None:
                continue
            if r.keys.get(name) == {union}:
                out.append(text)  # this device's samples already carry exactly the union
                continue
            prefix = ",".join(f'{k}="{_escape(v)}"' for k, v in device_labels(r.device).items())
            for labels, value in r.rows[name]:
                have = dict(labels)
                lab = "".join([f',{k}="{_escape(have.get(k, ""))}"' for k in union])
                out.append(f"{fam.series}{{{prefix}{lab}}} {_format_value(value)}\n".encode())
        return out


def metric_families(state: State, plugin: AnyPlugin) -> list[Metric]:
    """A collector's STATE samples as client_python Metric objects (OpenMetrics, tests)."""
    by_name: dict[str, tuple[Family, list[tuple[dict[str, str], Labels, float]]]] = {}
    for ds in list(state.devices.values()):
        part = ds.parts.get(plugin.name)
        if part is None:
            continue
        dl = device_labels(ds.device)
        for fam, value, labels, _time in plugin.samples_of(ds.device, part, View.STATE):
            by_name.setdefault(fam.name, (fam, []))[1].append((dl, labels, value))
    declared = [f.name for f in plugin.families]
    names = declared + sorted(n for n in by_name if n not in declared)
    out: list[Metric] = []
    for name in names:
        fam, rows = by_name.get(name) or (next(f for f in plugin.families if f.name == name), [])
        keys: list[str] = []
        if fam.open_labels:
            keys = sorted({k for _, labels, _ in rows for k, _ in labels})
        else:
            keys = list(fam.labels)
        cls = CounterMetricFamily if fam.kind is Kind.COUNTER else GaugeMetricFamily
        metric = cls(fam.name, fam.help, labels=[*DEVICE_LABELS, *keys])
        for dl, labels, value in rows:
            have = dict(labels)
            if fam.open_labels:
                add_sample(metric, {**dl, **{k: have.get(k, "") for k in keys}}, value)
            else:
                add_sample(metric, {**dl, **have}, value)
        out.append(metric)
    return out


class Exposition:
    """The state part of /metrics: every source, in order, as text or as Metric objects."""

    def __init__(self, state: State, sources: Iterable[Source] | None = None) -> None:
        self.state = state
        self.sources: list[Source] = list(default_sources() if sources is None else sources)
        self._text = {id(s): PluginText(s) for s in self.sources if not callable(s)}
        self._lock = threading.Lock()  # one scrape renders at a time (the cache is shared)

    def render(self, into: bytearray | None = None) -> bytearray:
        """The text format 0.0.4 of every source; safe to call from a worker thread."""
        buf = bytearray() if into is None else into
        with self._lock:
            for source in self.sources:
                try:
                    if callable(source):
                        render_text(source(self.state), buf)
                    else:
                        self._text[id(source)].render(self.state, buf)
                except Exception:  # one broken source must not empty the whole scrape
                    log.exception("metric source %s failed", _name(source))
        return buf

    def collect(self) -> Iterable[Metric]:
        for source in self.sources:
            try:
                if callable(source):
                    yield from source(self.state)
                else:
                    yield from metric_families(self.state, source)
            except Exception:
                log.exception("metric source %s failed", _name(source))


def _name(source: Source) -> str:
    return source.name if not callable(source) else getattr(source, "__name__", repr(source))


class StateCollector(Collector):
    """client_python's view of the state metrics (OpenMetrics requests, tests)."""

    def __init__(self, state: State, sources: Iterable[Source] | None = None) -> None:
        self.state = state
        self.exposition = Exposition(state, sources)

    def collect(self) -> Iterable[Metric]:
        return self.exposition.collect()


class _TelemetryCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        return telemetry.REGISTRY.collect()


def build_registry(state: State, sources: Iterable[Source] | None = None) -> CollectorRegistry:
    """A registry holding the state metrics and netwatch's own health metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(state, sources))
    registry.register(_TelemetryCollector())
    return registry
