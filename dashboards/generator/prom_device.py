"""Device detail on Prometheus: interfaces, optical power, reboots; Wi-Fi and fibre rows."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.generator.common import (
    PROM_DS,
    datasource_variable,
    organize,
    pq,
    query_variable,
    regency_variable,
    steps,
    up_mappings,
)
from dashboards.generator.prom_village import DISTRICT_QUERY, DISTRICT_REGEX
from dashboards.generator.prom_wifi_fibre import fibre_row, wifi_row

UID = "netwatch-device"
D = 'device="$device"'
DEVICE_QUERY = 'label_values(netwatch_device_info{district="$district"}, device)'

# RFC 2863 ifOperStatus codes.
OPER_STATUS = {
    1: ("up", "green"),
    2: ("down", "red"),
    3: ("testing", "blue"),
    4: ("unknown", "text"),
    5: ("dormant", "purple"),
    6: ("notPresent", "text"),
    7: ("lowerLayerDown", "orange"),
}


def single(title: str, expr: str, unit: str, *, mappings: bool = False, w: int = 4) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .datasource(PROM_DS)
        .with_target(pq(expr, instant=True))
        .unit(unit)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .height(4)
        .span(w)
    )
    if mappings:
        panel = (
            panel.mappings(up_mappings())
            .thresholds(steps([(None, "red"), (1, "green")]))
            .color_scheme(dash.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        )
    return panel


def traffic() -> timeseries.Panel:
    rx = f"rate(netwatch_snmp_interface_receive_bytes_total{{{D}}}[$__rate_interval]) * 8"
    tx = f"rate(netwatch_snmp_interface_transmit_bytes_total{{{D}}}[$__rate_interval]) * 8"
    return (
        timeseries.Panel()
        .title("Interface traffic")
        .description("Bits per second per interface; out drawn below zero.")
        .datasource(PROM_DS)
        .with_target(pq(rx, "{{interface}} in", ref="A"))
        .with_target(pq(tx, "{{interface}} out", ref="B"))
        .override_by_regexp(
            ".* out$", [dm.DynamicConfigValue(id_val="custom.transform", value="negative-Y")]
        )
        .unit("bps")
        .fill_opacity(10)
        .height(9)
        .span(12)
    )


def errors() -> timeseries.Panel:
    t = "rate(netwatch_snmp_interface_{}_total{{" + D + "}}[$__rate_interval])"
    return (
        timeseries.Panel()
        .title("Interface errors and discards")
        .description(
            "Packets per second counted as errors or discards (ifIn/OutErrors, ifIn/OutDiscards)."
        )
        .datasource(PROM_DS)
        .with_target(pq(t.format("receive_errors"), "{{interface}} in errors", ref="A"))
        .with_target(pq(t.format("transmit_errors"), "{{interface}} out errors", ref="B"))
        .with_target(pq(t.format("receive_discards"), "{{interface}} in discards", ref="C"))
        .with_target(pq(t.format("transmit_discards"), "{{interface}} out discards", ref="D"))
        .unit("pps")
        .min(0)
        .height(9)
        .span(12)
    )


def interface_table() -> table.Panel:
    status = f"netwatch_snmp_interface_oper_status{{{D}}}"
    speed = f"netwatch_snmp_interface_speed_bytes_per_second{{{D}}} * 8"
    admin = f"netwatch_snmp_interface_admin_up{{{D}}}"
    mappings = [
        dm.ValueMap(
            options={
                str(code): dm.ValueMappingResult(text=text, color=color, index=code)
                for code, (text, color) in OPER_STATUS.items()
            }
        )
    ]
    return (
        table.Panel()
        .title("Interfaces")
        .datasource(PROM_DS)
        .with_target(pq(status, instant=True, table=True, ref="A"))
        .with_target(pq(speed, instant=True, table=True, ref="B"))
        .with_target(pq(admin, instant=True, table=True, ref="C"))
        .with_transformation(dm.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            organize(
                {
                    "interface": "Interface",
                    "Value #A": "Oper status",
                    "Value #B": "Speed",
                    "Value #C": "Admin up",
                },
                ["Time", "device", "district", "village", "role", "instance", "job", "__name__"],
                ["interface", "Value #A", "Value #C", "Value #B"],
            )
        )
        .override_by_name(
            "Oper status",
            [
                dm.DynamicConfigValue(id_val="mappings", value=[m.to_json() for m in mappings]),
                dm.DynamicConfigValue(
                    id_val="custom.cellOptions", value={"type": "color-background"}
                ),
            ],
        )
        .override_by_name(
            "Admin up",
            [dm.DynamicConfigValue(id_val="mappings", value=[m.to_json() for m in up_mappings()])],
        )
        .override_by_name("Speed", [dm.DynamicConfigValue(id_val="unit", value="bps")])
        .unit("none")
        .height(9)
        .span(12)
    )


def optical() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Optical power")
        .description("Receive and transmit power in dBm (OLT ports, ONUs).")
        .datasource(PROM_DS)
        .with_target(
            pq(f"netwatch_snmp_optical_rx_power_dbm{{{D}}}", "rx {{port}}{{onu}}", ref="A")
        )
        .with_target(
            pq(f"netwatch_snmp_optical_tx_power_dbm{{{D}}}", "tx {{port}}{{onu}}", ref="B")
        )
        .unit("dBm")
        .height(9)
        .span(12)
    )


def ping() -> timeseries.Panel:
    loss = (
        f"1 - rate(netwatch_ping_echo_replies_total{{{D}}}[$__rate_interval])"
        f" / rate(netwatch_ping_echo_requests_total{{{D}}}[$__rate_interval])"
    )
    return (
        timeseries.Panel()
        .title("Ping: RTT and loss")
        .datasource(PROM_DS)
        .with_target(pq(f"netwatch_ping_rtt_avg_seconds{{{D}}}", "avg", ref="A"))
        .with_target(pq(f"netwatch_ping_rtt_max_seconds{{{D}}}", "max", ref="B"))
        .with_target(pq(loss, "loss", ref="C"))
        .override_by_query(
            "C",
            [
                dm.DynamicConfigValue(id_val="unit", value="percentunit"),
                dm.DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
            ],
        )
        .unit("s")
        .min(0)
        .height(9)
        .span(12)
    )


def build() -> dash.Dashboard:
    d = (
        dash.Dashboard("netwatch / Device")
        .uid(UID)
        .description(
            "One device: reachability, uptime and reboots, interfaces, optical power; Wi-Fi "
            "(clients per SSID/band, radio quality, a controller's APs) and fibre (ONUs)."
        )
        .tags(["netwatch", "prometheus"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .with_variable(datasource_variable("prometheus"))
        .with_variable(regency_variable())
        .with_variable(
            query_variable("district", "District", DISTRICT_QUERY, PROM_DS, DISTRICT_REGEX)
        )
        .with_variable(query_variable("device", "Device", DEVICE_QUERY, PROM_DS))
        .with_panel(single("Ping", f"netwatch_device_up{{{D}}}", "none", mappings=True))
        .with_panel(single("SNMP", f"netwatch_snmp_up{{{D}}}", "none", mappings=True))
        .with_panel(single("Uptime", f"netwatch_snmp_uptime_seconds{{{D}}}", "s"))
        .with_panel(
            single(
                "Reboots (range)", f"increase(netwatch_snmp_reboots_total{{{D}}}[$__range])", "none"
            )
        )
        .with_panel(single("Reboots (total seen)", f"netwatch_snmp_reboots_total{{{D}}}", "none"))
        .with_panel(single("Mean RTT", f"netwatch_ping_rtt_avg_seconds{{{D}}}", "s"))
        .with_panel(traffic())
        .with_panel(errors())
        .with_panel(interface_table())
        .with_panel(optical())
        .with_panel(ping())
    )
    for item in (*wifi_row(D, controller=True), *fibre_row(D)):
        d = d.with_row(item) if isinstance(item, dash.Row) else d.with_panel(item)
    return d
