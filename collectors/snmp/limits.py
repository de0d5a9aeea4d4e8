"""Per-device bounds on what one SNMP poll may add to /metrics: series and label length.

One agent with endless tables (or 10 KB interface aliases) once grew /metrics from 27 KB to
6.2 MB and netwatch's memory by 165 MB. A poll's observation is cut to `max_series_per_device`
series (interfaces first, in ifIndex order, then Wi-Fi, optics and vendor samples) and every
label value to `max_label_length` characters; what was cut is counted per device.
"""

from __future__ import annotations

import dataclasses
import zlib

from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation, SnmpSample

# Series one interface adds to /metrics: info, oper up/status, admin, speed, six counters.
SERIES_PER_INTERFACE = 11


def shorten(value: str, limit: int) -> str:
    """value cut to limit characters, ending in a hash of the whole so cut values stay apart."""
    if len(value) <= limit:
        return value
    tag = f"~{zlib.crc32(value.encode(errors='replace')):08x}"
    return value[: max(0, limit - len(tag))] + tag


def limit_observation(obs: SnmpObservation, max_series: int, max_label: int) -> tuple[int, int]:
    """Cut obs in place; returns (series dropped, label values shortened)."""
    shortened = 0

    def short(value: str) -> str:
        nonlocal shortened
        if len(value) > max_label:
            shortened += 1
            return shorten(value, max_label)
        return value

    budget = max_series
    interfaces = sorted(obs.interfaces, key=lambda i: i.index)
    keep_if = min(len(interfaces), budget // SERIES_PER_INTERFACE)
    dropped = (len(interfaces) - keep_if) * SERIES_PER_INTERFACE
    kept: list[SnmpInterface] = []
    for iface in interfaces[:keep_if]:
        if max(len(iface.name), len(iface.alias), len(iface.descr)) > max_label:
            iface = dataclasses.replace(
                iface, name=short(iface.name), alias=short(iface.alias), descr=short(iface.descr)
            )
        kept.append(iface)
    obs.interfaces = kept
    budget -= keep_if * SERIES_PER_INTERFACE
    for name in ("wifi_clients", "optical", "samples"):
        samples: list[SnmpSample] = getattr(obs, name)
        take = samples[: max(budget, 0)]
        dropped += len(samples) - len(take)
        budget -= len(take)
        out = []
        for s in take:
            if any(len(v) > max_label for _, v in s.labels):
                s = dataclasses.replace(s, labels=tuple((k, short(v)) for k, v in s.labels))
            out.append(s)
        setattr(obs, name, out)
    obs.sys_name = short(obs.sys_name)
    obs.sys_descr = short(obs.sys_descr)
    obs.sys_object_id = short(obs.sys_object_id)
    return dropped, shortened
