"""SNMP families and samples: device health, interfaces, Wi-Fi clients, optics, vendor extras.

STATE view: what /metrics shows from the device's SNMP state (wrap-bridged counter totals,
the last good poll while the device does not answer nothing but up, errors and reboots).
EVENT view: the points of the last poll (netwatch_snmp, netwatch_interface with bits/s,
netwatch_wifi, netwatch_optical, netwatch_snmp_extra), as docs/influxdb.md describes them.
"""

from __future__ import annotations

from collections.abc import Iterator

from netwatch.collectors.snmp.observation import SnmpSample
from netwatch.collectors.snmp.state import COUNTERS, SnmpDeviceState
from netwatch.core.model import Device
from netwatch.core.samples import (
    Family,
    Field,
    Kind,
    Labels,
    Measurement,
    Sample,
    View,
)

SNMP = Measurement("netwatch_snmp")
INTERFACE = Measurement("netwatch_interface")
WIFI = Measurement("netwatch_wifi")
OPTICAL = Measurement("netwatch_optical")
EXTRA = Measurement("netwatch_snmp_extra")

G, C, INFO_KIND = Kind.GAUGE, Kind.COUNTER, Kind.INFO
DEVICE_LABELS = frozenset({"device", "role", "village", "district"})
DEVICE_TAGS = frozenset({"device", "role", "district", "district_name", "village", "village_name"})
IF_LABELS = ("interface",)

UP = Family(
    "netwatch_snmp_up",
    G,
    "1 if the last SNMP poll succeeded, 0 if it failed.",
    field=Field(SNMP, "up", integer=True),
)
INFO = Family(
    "netwatch_snmp_device_info",
    INFO_KIND,
    "What the device says it is and the profiles that polled it; always 1.",
    labels=("sys_name", "sys_object_id", "profile"),
)
LAST = Family(
    "netwatch_snmp_last_poll_timestamp_seconds", G, "Start of the last SNMP poll.", "seconds"
)
UPTIME = Family(
    "netwatch_snmp_uptime_seconds",
    G,
    "Device uptime (sysUpTime, else hrSystemUptime).",
    "seconds",
    field=Field(SNMP, "uptime_seconds"),
)
REBOOTS = Family(
    "netwatch_snmp_reboots",
    C,
    "Reboots seen as a drop in uptime (not a 497-day wrap).",
    field=Field(SNMP, "reboots", integer=True),
)
POLL_ERRORS = Family(
    "netwatch_snmp_device_poll_errors",
    C,
    "Failed SNMP polls of this device, by reason.",
    labels=("reason",),
)
SERIES_DROPPED = Family(
    "netwatch_snmp_series_dropped",
    C,
    "What polls of this device could not add to /metrics: series beyond "
    "snmp.max_series_per_device (reason series_limit), label values cut to "
    "snmp.max_label_length (reason label_length).",
    labels=("reason",),
)
CPU = Family(
    "netwatch_snmp_cpu_load_ratio",
    G,
    "CPU load, mean over processors (0-1).",
    "ratio",
    field=Field(SNMP, "cpu_load_ratio"),
)
MEM_USED = Family(
    "netwatch_snmp_memory_used_bytes",
    G,
    "RAM in use.",
    "bytes",
    field=Field(SNMP, "memory_used_bytes"),
)
MEM_TOTAL = Family(
    "netwatch_snmp_memory_total_bytes",
    G,
    "RAM size.",
    "bytes",
    field=Field(SNMP, "memory_total_bytes"),
)
IF_INFO = Family(
    "netwatch_snmp_interface_info",
    INFO_KIND,
    "Interface facts; always 1. radio=1 marks Wi-Fi radio interfaces.",
    labels=(*IF_LABELS, "ifindex", "alias", "type", "radio"),
)
OPER = Family(
    "netwatch_snmp_interface_oper_up",
    G,
    "1 if ifOperStatus is up(1), else 0.",
    labels=IF_LABELS,
    field=Field(INTERFACE, "oper_up", integer=True),
)
OPER_STATUS = Family(
    "netwatch_snmp_interface_oper_status",
    G,
    "ifOperStatus code (RFC 2863).",
    labels=IF_LABELS,
)
ADMIN = Family(
    "netwatch_snmp_interface_admin_up",
    G,
    "1 if ifAdminStatus is up(1), else 0.",
    labels=IF_LABELS,
    field=Field(INTERFACE, "admin_up", integer=True),
)
SPEED = Family(
    "netwatch_snmp_interface_speed_bytes_per_second",
    G,
    "Interface speed in bytes/s (ifHighSpeed × 10^6 / 8, else ifSpeed / 8).",
    "bytes_per_second",
    labels=IF_LABELS,
)


def _counter(name: str, help_text: str, key: str, unit: str = "") -> Family:
    return Family(name, C, help_text, unit, IF_LABELS, Field(INTERFACE, key, integer=True))


COUNTER_FAMILIES: dict[str, Family] = {
    "in_octets": _counter(
        "netwatch_snmp_interface_receive_bytes",
        "Octets received (ifHCInOctets; Counter32 wraps bridged).",
        "in_octets",
        "bytes",
    ),
    "out_octets": _counter(
        "netwatch_snmp_interface_transmit_bytes",
        "Octets sent (ifHCOutOctets; Counter32 wraps bridged).",
        "out_octets",
        "bytes",
    ),
    "in_errors": _counter("netwatch_snmp_interface_receive_errors", "ifInErrors.", "in_errors"),
    "out_errors": _counter("netwatch_snmp_interface_transmit_errors", "ifOutErrors.", "out_errors"),
    "in_discards": _counter(
        "netwatch_snmp_interface_receive_discards", "ifInDiscards.", "in_discards"
    ),
    "out_discards": _counter(
        "netwatch_snmp_interface_transmit_discards", "ifOutDiscards.", "out_discards"
    ),
}
assert tuple(COUNTER_FAMILIES) == COUNTERS
WIFI_CLIENTS = Family(
    "netwatch_snmp_wifi_clients",
    G,
    "Wi-Fi clients associated, per SSID, radio or interface (label scope says which).",
    open_labels=True,
)
OPTICAL_RX = Family(
    "netwatch_snmp_optical_rx_power_dbm", G, "Optical receive power.", "dbm", open_labels=True
)
OPTICAL_TX = Family(
    "netwatch_snmp_optical_tx_power_dbm", G, "Optical transmit power.", "dbm", open_labels=True
)
_OPTICAL = {"optical_rx_dbm": OPTICAL_RX, "optical_tx_dbm": OPTICAL_TX}
# Point-only figures: a scrape has the totals and bytes/s; history wants rates and bits/s.
DURATION = Family(
    "netwatch_snmp_poll_duration_seconds",
    G,
    "Time the poll took.",
    "seconds",
    field=Field(SNMP, "duration_seconds"),
)
IN_BPS = Family(
    "netwatch_interface_in_bits_per_second",
    G,
    "Receive rate over the last two polls.",
    "bits_per_second",
    field=Field(INTERFACE, "in_bits_per_second"),
)
OUT_BPS = Family(
    "netwatch_interface_out_bits_per_second",
    G,
    "Transmit rate over the last two polls.",
    "bits_per_second",
    field=Field(INTERFACE, "out_bits_per_second"),
)
SPEED_BITS = Family(
    "netwatch_interface_speed_bits_per_second",
    G,
    "Interface speed in bits/s.",
    "bits_per_second",
    field=Field(INTERFACE, "speed_bits_per_second"),
)

FAMILIES = (
    UP, INFO, LAST, UPTIME, REBOOTS, POLL_ERRORS, SERIES_DROPPED, CPU, MEM_USED, MEM_TOTAL,
    IF_INFO, OPER, OPER_STATUS, ADMIN, SPEED, *COUNTER_FAMILIES.values(),
    WIFI_CLIENTS, OPTICAL_RX, OPTICAL_TX,
)  # fmt: skip

# Vendor-profile families are made on first sight and kept: their number is bounded by the
# profiles' metric names, and exporters cache by family.
_extras: dict[tuple[str, str], Family] = {}
_fields: dict[tuple[Measurement, str, bool], Family] = {}


def extra_family(s: SnmpSample) -> Family:
    """The scraped family of a vendor sample (netwatch_snmp_<metric>); the first help wins."""
    key = (s.metric, s.type)
    fam = _extras.get(key)
    if fam is not None and (_helped.get(key) or not s.help):
        return fam
    name = f"netwatch_snmp_{s.metric}"
    kind = C if s.type == "counter" else G
    if s.type == "info":
        kind = INFO_KIND
        if not name.endswith("_info"):
            name += "_info"
    fam = Family(name, kind, s.help or f"{s.metric} from a vendor profile.", open_labels=True)
    _extras[key] = fam
    _helped[key] = bool(s.help)
    return fam


_helped: dict[tuple[str, str], bool] = {}


def point_family(measurement: Measurement, key: str, integer: bool = False) -> Family:
    """An EVENT-only family for a field named at run time (Wi-Fi, optics, vendor extras)."""
    fam = _fields.get((measurement, key, integer))
    if fam is None:
        fam = Family(
            f"{measurement.name}_{key}",
            G,
            f"{key} of {measurement.name} points.",
            field=Field(measurement, key, integer),
        )
        _fields[(measurement, key, integer)] = fam
    return fam


def _scrape_labels(s: SnmpSample) -> Labels:
    """A vendor sample's own labels, sorted; a device label of the same name wins."""
    return tuple(sorted((k, v) for k, v in dict(s.labels).items() if k not in DEVICE_LABELS))


def samples(device: Device, st: SnmpDeviceState, view: View) -> Iterator[Sample]:
    if view is View.EVENT:
        yield from _points(st)
    else:
        yield from _state(st)


def _state(st: SnmpDeviceState) -> Iterator[Sample]:
    obs = st.last
    if obs is None:
        return
    yield (UP, 0.0 if obs.error else 1.0, (), None)
    yield (LAST, obs.time, (), None)
    yield (REBOOTS, st.reboots_total, (), None)
    for reason, n in sorted(st.errors_total.items()):
        yield (POLL_ERRORS, n, (("reason", reason),), None)
    if st.series_dropped_total or st.labels_shortened_total:
        yield (SERIES_DROPPED, st.series_dropped_total, (("reason", "series_limit"),), None)
        yield (SERIES_DROPPED, st.labels_shortened_total, (("reason", "label_length"),), None)
    ok = st.last_ok
    if obs.error or ok is None:
        return  # stale values vanish while the device does not answer
    facts = (("sys_name", ok.sys_name), ("sys_object_id", ok.sys_object_id),
             ("profile", ",".join(ok.profiles)))  # fmt: skip
    yield (INFO, 1, facts, None)
    if ok.uptime_ticks is not None:
        yield (UPTIME, ok.uptime_ticks / 100.0, (), None)
    if ok.cpu_load_ratio is not None:
        yield (CPU, ok.cpu_load_ratio, (), None)
    if ok.memory_used_bytes is not None:
        yield (MEM_USED, ok.memory_used_bytes, (), None)
    if ok.memory_total_bytes is not None:
        yield (MEM_TOTAL, ok.memory_total_bytes, (), None)
    counters = COUNTER_FAMILIES
    for ifs in st.interfaces.values():
        i = ifs.iface
        il: Labels = (("interface", i.name),)
        info = (*il, ("ifindex", str(i.index)), ("alias", i.alias),
                ("type", str(i.if_type or "")), ("radio", "1" if i.radio else "0"))  # fmt: skip
        yield (IF_INFO, 1, info, None)
        if i.oper_status is not None:
            yield (OPER, 1.0 if i.oper_status == 1 else 0.0, il, None)
            yield (OPER_STATUS, i.oper_status, il, None)
        if i.admin_status is not None:
            yield (ADMIN, 1.0 if i.admin_status == 1 else 0.0, il, None)
        if i.speed_bps is not None:
            yield (SPEED, i.speed_bps / 8, il, None)
        for name, acc in list(ifs.counters.items()):  # a scrape runs in a worker thread
            yield (counters[name], acc.total, il, None)
    for v in ok.wifi_clients:
        yield (WIFI_CLIENTS, v.value, _scrape_labels(v), None)
    for v in ok.optical:
        fam = _OPTICAL.get(v.metric)
        if fam is not None:
            yield (fam, v.value, _scrape_labels(v), None)
    for v in ok.samples:
        yield (extra_family(v), v.value, _scrape_labels(v), None)


def _points(st: SnmpDeviceState) -> Iterator[Sample]:
    """One poll's points; a failed poll gives only netwatch_snmp with up=0."""
    obs = st.last
    if obs is None:
        return
    t = obs.time
    yield (UP, 0 if obs.error else 1, (), t)
    yield (DURATION, float(obs.duration), (), t)
    if not obs.error:
        if obs.uptime_ticks is not None:
            yield (UPTIME, obs.uptime_ticks / 100.0, (), t)
        if obs.cpu_load_ratio is not None:
            yield (CPU, float(obs.cpu_load_ratio), (), t)
        if obs.memory_used_bytes is not None:
            yield (MEM_USED, float(obs.memory_used_bytes), (), t)
        if obs.memory_total_bytes is not None:
            yield (MEM_TOTAL, float(obs.memory_total_bytes), (), t)
    yield (REBOOTS, st.reboots_total, (), t)
    if obs.error:
        return
    states = st.interfaces
    counters = COUNTER_FAMILIES
    for iface in obs.interfaces:
        tags: Labels = (("ifindex", str(iface.index)),
                        ("interface", iface.name or iface.descr or str(iface.index)))  # fmt: skip
        ist = states.get(iface.index)
        if ist is not None:
            for name in COUNTERS:  # wrap-bridged running totals, as the scraped counters
                acc = ist.counters.get(name)
                if acc is not None:
                    yield (counters[name], acc.total, tags, t)
            if ist.in_bps is not None:
                yield (IN_BPS, float(ist.in_bps), tags, t)
            if ist.out_bps is not None:
                yield (OUT_BPS, float(ist.out_bps), tags, t)
        if iface.oper_status is not None:
            yield (OPER, 1 if iface.oper_status == 1 else 0, tags, t)
        if iface.admin_status is not None:
            yield (ADMIN, 1 if iface.admin_status == 1 else 0, tags, t)
        if iface.speed_bps is not None:
            yield (SPEED_BITS, float(iface.speed_bps), tags, t)
    for measurement, values in ((WIFI, obs.wifi_clients), (OPTICAL, obs.optical),
                                (EXTRA, obs.samples)):  # fmt: skip
        for v in values:
            key = tuple(sorted((k, str(x)) for k, x in v.labels))
            if measurement is WIFI:
                name = "clients" if v.metric == "wifi_clients" else v.metric
            elif measurement is OPTICAL:
                name = v.metric.removeprefix("optical_")
            else:
                name = v.metric
            if name in DEVICE_TAGS or any(k == name for k, _ in key):
                name += "_value"  # InfluxDB 3 forbids a field named as a tag
            # Client counts stay integers; every other sample is a float, always.
            if name == "clients":
                yield (point_family(measurement, name, True), int(v.value), key, t)
            else:
                yield (point_family(measurement, name), float(v.value), key, t)
