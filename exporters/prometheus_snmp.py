"""SNMP metric source for /metrics: interfaces, Wi-Fi clients, optics, uptime, vendor extras.

A metric source as exporters.prometheus expects: families(state) builds every family from the
latest SNMP observations at scrape time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from netwatch.core.observations import SnmpSample
from netwatch.core.state import State
from netwatch.exporters.prometheus import DEVICE_LABELS, add_sample

IF_LABELS = [*DEVICE_LABELS, "interface"]
add = add_sample


def _sample_families(
    name: str, help_text: str, kind: str, rows: Sequence[tuple[dict[str, str], SnmpSample]]
) -> Metric:
    """One family from samples whose label keys may differ: the union, '' where absent."""
    keys = sorted({k for _, s in rows for k, _ in s.labels} - set(DEVICE_LABELS))
    cls = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
    fam = cls(name, help_text, labels=[*DEVICE_LABELS, *keys])
    for dev_labels, sample in rows:
        lab = dict(sample.labels)
        add(fam, {**dev_labels, **{k: lab.get(k, "") for k in keys}}, sample.value)
    return fam


def families(state: State) -> Iterable[Metric]:
    """Every SNMP family, one pass over the devices."""
    g = GaugeMetricFamily
    c = CounterMetricFamily
    up = g(
        "netwatch_snmp_up",
        "1 if the last SNMP poll succeeded, 0 if it failed.",
        labels=DEVICE_LABELS,
    )
    info = g(
        "netwatch_snmp_device_info",
        "What the device says it is and the profiles that polled it; always 1.",
        labels=[*DEVICE_LABELS, "sys_name", "sys_object_id", "profile"],
    )
    last = g(
        "netwatch_snmp_last_poll_timestamp_seconds",
        "Start of the last SNMP poll.",
        labels=DEVICE_LABELS,
    )
    uptime = g(
        "netwatch_snmp_uptime_seconds",
        "Device uptime (sysUpTime, else hrSystemUptime).",
        labels=DEVICE_LABELS,
    )
    reboots = c(
        "netwatch_snmp_reboots",
        "Reboots seen as a drop in uptime (not a 497-day wrap).",
        labels=DEVICE_LABELS,
    )
    poll_errors = c(
        "netwatch_snmp_device_poll_errors",
        "Failed SNMP polls of this device, by reason.",
        labels=[*DEVICE_LABELS, "reason"],
    )
    limited = c(
        "netwatch_snmp_series_dropped",
        "What polls of this device could not add to /metrics: series beyond "
        "snmp.max_series_per_device (reason series_limit), label values cut to "
        "snmp.max_label_length (reason label_length).",
        labels=[*DEVICE_LABELS, "reason"],
    )
    cpu = g(
        "netwatch_snmp_cpu_load_ratio",
        "CPU load, mean over processors (0-1).",
        labels=DEVICE_LABELS,
    )
    mem_used = g("netwatch_snmp_memory_used_bytes", "RAM in use.", labels=DEVICE_LABELS)
    mem_total = g("netwatch_snmp_memory_total_bytes", "RAM size.", labels=DEVICE_LABELS)
    if_info = g(
        "netwatch_snmp_interface_info",
        "Interface facts; always 1. radio=1 marks Wi-Fi radio interfaces.",
        labels=[*IF_LABELS, "ifindex", "alias", "type", "radio"],
    )
    oper = g(
        "netwatch_snmp_interface_oper_up", "1 if ifOperStatus is up(1), else 0.", labels=IF_LABELS
    )
    oper_status = g(
        "netwatch_snmp_interface_oper_status", "ifOperStatus code (RFC 2863).", labels=IF_LABELS
    )
    admin = g(
        "netwatch_snmp_interface_admin_up", "1 if ifAdminStatus is up(1), else 0.", labels=IF_LABELS
    )
    speed = g(
        "netwatch_snmp_interface_speed_bytes_per_second",
        "Interface speed in bytes/s (ifHighSpeed × 10^6 / 8, else ifSpeed / 8).",
        labels=IF_LABELS,
    )
    rx = c(
        "netwatch_snmp_interface_receive_bytes",
        "Octets received (ifHCInOctets; Counter32 wraps bridged).",
        labels=IF_LABELS,
    )
    tx = c(
        "netwatch_snmp_interface_transmit_bytes",
        "Octets sent (ifHCOutOctets; Counter32 wraps bridged).",
        labels=IF_LABELS,
    )
    rx_err = c("netwatch_snmp_interface_receive_errors", "ifInErrors.", labels=IF_LABELS)
    tx_err = c("netwatch_snmp_interface_transmit_errors", "ifOutErrors.", labels=IF_LABELS)
    rx_drop = c("netwatch_snmp_interface_receive_discards", "ifInDiscards.", labels=IF_LABELS)
    tx_drop = c("netwatch_snmp_interface_transmit_discards", "ifOutDiscards.", labels=IF_LABELS)
    counter_fams = {
        "in_octets": rx, "out_octets": tx, "in_errors": rx_err, "out_errors": tx_err,
        "in_discards": rx_drop, "out_discards": tx_drop,
    }  # fmt: skip
    wifi: list[tuple[dict[str, str], SnmpSample]] = []
    optical: dict[str, list[tuple[dict[str, str], SnmpSample]]] = defaultdict(list)
    extras: dict[tuple[str, str], list[tuple[dict[str, str], SnmpSample]]] = defaultdict(list)
    helps: dict[str, str] = {}

    for ds in list(state.devices.values()):
        snmp = ds.snmp
        if snmp is None or snmp.last is None:
            continue
        d = ds.device
        dl = {"device": d.name, "role": d.role.value, "village": d.village or "",
              "district": d.district}  # fmt: skip
        obs = snmp.last
        add(up, dl, 0.0 if obs.error else 1.0)
        add(last, dl, obs.time)
        add(reboots, dl, snmp.reboots_total)
        for reason, n in sorted(snmp.errors_total.items()):
            add(poll_errors, {**dl, "reason": reason}, n)
        if snmp.series_dropped_total or snmp.labels_shortened_total:
            add(limited, {**dl, "reason": "series_limit"}, snmp.series_dropped_total)
            add(limited, {**dl, "reason": "label_length"}, snmp.labels_shortened_total)
        ok = snmp.last_ok
        if obs.error or ok is None:
            continue  # stale values vanish while the device does not answer
        info_labels = {**dl, "sys_name": ok.sys_name, "sys_object_id": ok.sys_object_id,
                       "profile": ",".join(ok.profiles)}  # fmt: skip
        add(info, info_labels, 1)
        if ok.uptime_ticks is not None:
            add(uptime, dl, ok.uptime_ticks / 100.0)
        if ok.cpu_load_ratio is not None:
            add(cpu, dl, ok.cpu_load_ratio)
        if ok.memory_used_bytes is not None:
            add(mem_used, dl, ok.memory_used_bytes)
        if ok.memory_total_bytes is not None:
            add(mem_total, dl, ok.memory_total_bytes)
        for ifs in snmp.interfaces.values():
            i = ifs.iface
            il = {**dl, "interface": i.name}
            facts = {"ifindex": str(i.index), "alias": i.alias, "type": str(i.if_type or "")}
            add(if_info, {**il, **facts, "radio": "1" if i.radio else "0"}, 1)
            if i.oper_status is not None:
                add(oper, il, 1.0 if i.oper_status == 1 else 0.0)
                add(oper_status, il, i.oper_status)
            if i.admin_status is not None:
                add(admin, il, 1.0 if i.admin_status == 1 else 0.0)
            if i.speed_bps is not None:
                add(speed, il, i.speed_bps / 8)
            for name, acc in ifs.counters.items():
                add(counter_fams[name], il, acc.total)
        wifi.extend((dl, s) for s in ok.wifi_clients)
        for s in ok.optical:
            optical[s.metric].append((dl, s))
        for s in ok.samples:
            extras[(s.metric, s.type)].append((dl, s))
            if s.help:
                helps.setdefault(s.metric, s.help)

    yield from (up, info, last, uptime, reboots, poll_errors, limited, cpu, mem_used, mem_total)
    yield from (if_info, oper, oper_status, admin, speed, *counter_fams.values())
    yield _sample_families(
        "netwatch_snmp_wifi_clients",
        "Wi-Fi clients associated, per SSID, radio or interface (label scope says which).",
        "gauge",
        wifi,
    )
    yield _sample_families(
        "netwatch_snmp_optical_rx_power_dbm",
        "Optical receive power.",
        "gauge",
        optical.get("optical_rx_dbm", []),
    )
    yield _sample_families(
        "netwatch_snmp_optical_tx_power_dbm",
        "Optical transmit power.",
        "gauge",
        optical.get("optical_tx_dbm", []),
    )
    for (metric, kind), rows in sorted(extras.items()):
        help_text = helps.get(metric, f"{metric} from a vendor profile.")
        name = f"netwatch_snmp_{metric}"
        if kind == "info" and not name.endswith("_info"):
            name += "_info"
        yield _sample_families(name, help_text, "counter" if kind == "counter" else "gauge", rows)
