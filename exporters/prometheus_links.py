"""Metric source for the villages' links as their OLT and POP report them (inventory `onu:`,
`uplink:`): the village's ONU state and receive power, its uplink port, with village labels.

The OLT's series carry no village; these join them by the inventory's links, so a village
dashboard shows its fibre without knowing which OLT port serves it. Read from state at scrape
time through the alert engine's fact reader (netwatch.core.link_facts), never the engine.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily, Metric

from netwatch.core import link_facts as cf
from netwatch.core.state import State


def families(state: State) -> Iterable[Metric]:
    inv = state.inventory
    up = GaugeMetricFamily(
        "netwatch_village_onu_up",
        "1 if the village's ONU (inventory onu:) is online on its OLT; state and cause as the "
        "OLT says (cause: why it last went offline); the ONU's name and serial as the OLT "
        "lists them (empty where its profile reads none).",
        labels=["village", "district", "olt", "onu", "onu_name", "onu_serial", "state", "cause"],
    )
    rx = GaugeMetricFamily(
        "netwatch_village_onu_rx_power_dbm",
        "Optical receive power of the village's ONU link: side onu (at the ONU), side olt "
        "(at the OLT from it).",
        labels=["village", "district", "olt", "onu", "onu_name", "onu_serial", "side"],
        unit="",
    )
    port = GaugeMetricFamily(
        "netwatch_village_uplink_up",
        "1 if the village's port on its POP device (inventory uplink:) is oper-up.",
        labels=["village", "district", "device", "interface"],
    )
    facts: dict[str, cf.DeviceFacts | None] = {}

    def of(name: str) -> cf.DeviceFacts | None:
        if name not in facts:
            ds = state.devices.get(name)
            facts[name] = cf.of_state(ds) if ds is not None else None
        return facts[name]

    for code, v in inv.villages.items():
        if v.onu is not None:
            f = of(v.onu.olt)
            got = cf.onu(f, v.onu) if f is not None else None
            if got is not None:
                where = [code, v.district, v.onu.olt, v.onu.describe(), got.name, got.serial]
                up.add_metric([*where, got.state, "" if got.up else got.cause], float(got.up))
                for side, dbm in (("onu", got.rx_onu), ("olt", got.rx_olt)):
                    if dbm is not None:
                        rx.add_metric([*where, side], dbm)
        if v.uplink is not None:
            f = of(v.uplink.device)
            ok = cf.port_up(f, v.uplink.interface) if f is not None else None
            if ok is not None:
                link = [code, v.district, v.uplink.device, v.uplink.interface]
                port.add_metric(link, float(ok))
    return [up, rx, port]
