"""Prometheus exporter: /metrics built from a snapshot of state at scrape time.

client_python's text encoder spends ~6 µs a sample formatting labels; at 10,000 devices
(140,000 samples) that is a second of GIL per scrape, measured at 2–4 s under load. The state
families therefore go through `render_text`, a lean encoder of the same Metric objects
(checked against client_python's own output in tests); netwatch's small self-metrics registry
and OpenMetrics requests still use client_python's encoders.

A custom collector (client_python's pattern): metric families are made per scrape from the
state, and no per-series objects live between scrapes, so series of removed devices vanish
at once and memory does not grow with history. Other parts add families through *metric
sources*: functions ``families(state) -> Iterable[Metric]``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.samples import Sample

from netwatch.core import telemetry
from netwatch.core.state import State, VillageStatus

log = logging.getLogger(__name__)

MetricSource = Callable[[State], Iterable[Metric]]

DEVICE_LABELS = ["device", "role", "village", "district"]

_new_sample = tuple.__new__  # Sample's generated __new__ costs more than the rest of add
_SAMPLE_PAD = (None,) * (len(Sample._fields) - 3)  # timestamp, exemplar, ... unused here


def add_sample(family: Metric, labels: dict[str, str], value: float) -> None:
    """Append a sample that shares the caller's labels dict.

    One dict per device for all its samples is cheaper to build, and render_text formats it
    once; client_python's add_metric would copy it for every sample.
    """
    name = family.name + "_total" if family.type == "counter" else family.name
    family.samples.append(_new_sample(Sample, (name, labels, value, *_SAMPLE_PAD)))


def device_families(state: State) -> Iterable[Metric]:
    """Device up and ping round figures, one sample per device."""
    up = GaugeMetricFamily(
        "netwatch_device_up",
        "1 if the device answered its last round, 0 if not.",
        labels=DEVICE_LABELS,
    )
    info = GaugeMetricFamily(
        "netwatch_device_info",
        "Device facts from the inventory; always 1.",
        labels=[*DEVICE_LABELS, "address", "parent"],
    )
    since = GaugeMetricFamily(
        "netwatch_device_status_change_timestamp_seconds",
        "When the device last went up or down.",
        labels=DEVICE_LABELS,
    )
    rtt_min = GaugeMetricFamily(
        "netwatch_ping_rtt_min_seconds",
        "Fastest echo reply of the last round.",
        labels=DEVICE_LABELS,
    )
    rtt_avg = GaugeMetricFamily(
        "netwatch_ping_rtt_avg_seconds",
        "Mean echo round-trip time of the last round.",
        labels=DEVICE_LABELS,
    )
    rtt_max = GaugeMetricFamily(
        "netwatch_ping_rtt_max_seconds",
        "Slowest echo reply of the last round.",
        labels=DEVICE_LABELS,
    )
    jitter = GaugeMetricFamily(
        "netwatch_ping_jitter_seconds",
        "Mean absolute difference of consecutive RTTs in the last round.",
        labels=DEVICE_LABELS,
    )
    loss = GaugeMetricFamily(
        "netwatch_ping_loss_ratio",
        "Share of echo requests of the last round left unanswered.",
        labels=DEVICE_LABELS,
    )
    sent = CounterMetricFamily(
        "netwatch_ping_echo_requests", "ICMP echo requests sent.", labels=DEVICE_LABELS
    )
    received = CounterMetricFamily(
        "netwatch_ping_echo_replies", "ICMP echo replies received in time.", labels=DEVICE_LABELS
    )
    last = GaugeMetricFamily(
        "netwatch_ping_last_round_timestamp_seconds",
        "Start of the last completed ping round.",
        labels=DEVICE_LABELS,
    )

    add = add_sample
    for ds in list(state.devices.values()):
        d = ds.device
        labels = {
            "device": d.name,
            "role": d.role.value,
            "village": d.village or "",
            "district": d.district,
        }
        add(info, {**labels, "address": d.address, "parent": d.parent or ""}, 1)
        if ds.up is None:
            continue
        add(up, labels, 1.0 if ds.up else 0.0)
        add(since, labels, ds.since)
        obs = ds.last_ping
        if obs is None:
            continue
        res = obs.result
        add(sent, labels, ds.echo_sent_total)
        add(received, labels, ds.echo_received_total)
        add(loss, labels, res.loss_ratio)
        add(last, labels, obs.time)
        if res.rtts:
            add(rtt_min, labels, min(res.rtts))
            add(rtt_avg, labels, sum(res.rtts) / len(res.rtts))
            add(rtt_max, labels, max(res.rtts))
        if (j := res.jitter) is not None:
            add(jitter, labels, j)
    return (up, info, since, rtt_min, rtt_avg, rtt_max, jitter, loss, sent, received, last)


def village_families(state: State) -> Iterable[Metric]:
    """Village rollup and the village info metric (coordinates for map panels)."""
    inventory = state.inventory
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
    regencies = {}
    for district in inventory.districts.values():
        regency = regencies.setdefault(district.regency, inventory.regency_of(district.code))
        district_info.add_metric(
            [district.code, district.name, regency.code, regency.name, regency.province], 1
        )
    for regency in regencies.values():
        province = inventory.province_name(regency.code)
        regency_info.add_metric([regency.code, regency.name, regency.province, province], 1)
    return (info, district_info, regency_info, wifi_up, status)


DEFAULT_SOURCES: tuple[MetricSource, ...] = (device_families, village_families)


class StateCollector(Collector):
    """Builds every state metric family at scrape time from the registered sources."""

    def __init__(self, state: State, sources: Iterable[MetricSource] = DEFAULT_SOURCES) -> None:
        self.state = state
        self.sources = list(sources)

    def collect(self) -> Iterable[Metric]:
        for source in self.sources:
            try:
                yield from source(self.state)
            except Exception:  # one broken source must not empty the whole scrape
                log.exception("metric source %s failed", getattr(source, "__name__", source))


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
        doc = family.documentation.replace("\\", "\\\\").replace("\n", "\\n")
        kind = family.type if family.type in ("gauge", "counter") else "untyped"
        out = [f"# HELP {name} {doc}\n# TYPE {name} {kind}\n"]
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


class _TelemetryCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        return telemetry.REGISTRY.collect()


def build_registry(
    state: State, sources: Iterable[MetricSource] = DEFAULT_SOURCES
) -> CollectorRegistry:
    """A registry holding the state metrics and netwatch's own health metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(state, sources))
    registry.register(_TelemetryCollector())
    return registry
