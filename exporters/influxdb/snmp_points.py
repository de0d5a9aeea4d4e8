"""SNMP observations → line protocol: device health, interfaces (counters, bits/s), Wi-Fi, optics.

Duck-typed on netwatch.core.observations.SnmpObservation and DeviceState.snmp (the SNMP state with
wrap-bridged counter totals and rates), so this module does not depend on their import.
"""

from __future__ import annotations

from typing import Any

from netwatch.exporters.influxdb.lineproto import field_block

SNMP = "netwatch_snmp"
INTERFACE = "netwatch_interface"
WIFI = "netwatch_wifi"
OPTICAL = "netwatch_optical"
EXTRA = "netwatch_snmp_extra"

IF_OPER_UP = 1
DEVICE_TAGS = frozenset({"device", "role", "district", "district_name", "village", "village_name"})


def is_snmp_observation(obs: object) -> bool:
    return hasattr(obs, "interfaces") and hasattr(obs, "uptime_ticks")


def snmp_lines(builder: Any, ds: Any, obs: Any, inventory: Any) -> list[str]:
    """Points of one SNMP poll; a failed poll gives only netwatch_snmp with up=0."""
    ts = f" {builder.timestamp(obs.time)}"
    device = ds.device
    out: list[str] = []
    snmp_state = getattr(ds, "snmp", None)
    fields: dict[str, Any] = {
        "up": 0 if obs.error else 1,
        "duration_seconds": float(obs.duration),
    }
    if not obs.error:
        if obs.uptime_ticks is not None:
            fields["uptime_seconds"] = obs.uptime_ticks / 100.0
        for name in ("cpu_load_ratio", "memory_used_bytes", "memory_total_bytes"):
            value = getattr(obs, name, None)
            if value is not None:
                fields[name] = float(value)
    if snmp_state is not None:
        fields["reboots"] = int(snmp_state.reboots_total)
    out.append(f"{builder.device_head(SNMP, device, inventory)} {field_block(fields)}{ts}")
    if obs.error:
        return out

    states = getattr(snmp_state, "interfaces", {}) if snmp_state is not None else {}
    for iface in obs.interfaces:
        name = iface.name or iface.descr or str(iface.index)
        extra = (("ifindex", str(iface.index)), ("interface", name))
        f: dict[str, Any] = {}
        st = states.get(iface.index)
        for counter in (
            "in_octets",
            "out_octets",
            "in_errors",
            "out_errors",
            "in_discards",
            "out_discards",
        ):
            acc = st.counters.get(counter) if st is not None else None
            if acc is not None:  # wrap-bridged running total, as the Prometheus counter
                f[counter] = int(acc.total)
        if st is not None:
            if st.in_bps is not None:
                f["in_bits_per_second"] = float(st.in_bps)
            if st.out_bps is not None:
                f["out_bits_per_second"] = float(st.out_bps)
        if iface.oper_status is not None:
            f["oper_up"] = 1 if iface.oper_status == IF_OPER_UP else 0
        if iface.admin_status is not None:
            f["admin_up"] = 1 if iface.admin_status == IF_OPER_UP else 0
        if iface.speed_bps is not None:
            f["speed_bits_per_second"] = float(iface.speed_bps)
        fb = field_block(f)
        if fb:
            out.append(f"{builder.device_head(INTERFACE, device, inventory, extra)} {fb}{ts}")

    for measurement, samples, rename in (
        (WIFI, obs.wifi_clients, lambda m: "clients" if m == "wifi_clients" else m),
        (OPTICAL, obs.optical, lambda m: m.removeprefix("optical_")),
        (EXTRA, obs.samples, lambda m: m),
    ):
        grouped: dict[tuple, dict[str, Any]] = {}
        for s in samples:
            key = tuple(sorted((k, str(v)) for k, v in s.labels))
            value = s.value
            name = rename(s.metric)
            if name in DEVICE_TAGS or any(k == name for k, _ in key):
                name += "_value"  # InfluxDB 3 forbids a field named as a tag
            # Client counts stay integers; every other sample is a float, always.
            grouped.setdefault(key, {})[name] = int(value) if name == "clients" else float(value)
        for key, f in grouped.items():
            fb = field_block(f)
            if fb:
                out.append(f"{builder.device_head(measurement, device, inventory, key)} {fb}{ts}")
    return out
