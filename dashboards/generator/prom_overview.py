"""Overview on Prometheus: map, counts, worst villages, open alerts, uptime of the regencies
chosen in the `regency` variable (one, several or all: a province or the whole country)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import geomap, stat, table
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.generator.common import (
    IN_REGENCY,
    PROM_DS,
    datasource_variable,
    organize,
    pq,
    prom_state_code,
    regency_variable,
    transform,
    uptime_thresholds,
    village_map,
)

UID = "netwatch-overview"
NAMES = "on (village) group_left (village_name, district_name) netwatch_village_info"
VILLAGES = f'village=~"{IN_REGENCY}"'  # the villages of the chosen regencies
DISTRICTS = f'district=~"{IN_REGENCY}"'
COUNTS = f"sum by (status) (netwatch_village_status{{{VILLAGES}}})"


def villages_map() -> geomap.Panel:
    """Every village at its coordinates, coloured by state (the village info metric's labels)."""
    expr = (
        f"netwatch_village_info{{{VILLAGES}}} * on (village) group_left () "
        f"{prom_state_code(', ' + VILLAGES)}"
    )
    panel = (
        geomap.Panel()
        .title("Villages by Wi-Fi state")
        .description("Each village at its coordinates; green up, orange degraded, red down.")
        .datasource(PROM_DS)
        .with_target(pq(expr, instant=True, table=True))
        .with_transformation(
            transform(
                "convertFieldType",
                {
                    "conversions": [
                        {"targetField": "latitude", "destinationType": "number"},
                        {"targetField": "longitude", "destinationType": "number"},
                    ]
                },
            )
        )
    )
    return village_map(panel, "Value")


def state_counts() -> stat.Panel:
    return (
        stat.Panel()
        .title("Villages by state")
        .description("How many villages are up, degraded, down or not yet known.")
        .datasource(PROM_DS)
        .with_target(pq(COUNTS, "{{status}}", instant=True))
        .unit("none")
        .decimals(0)
        .color_scheme(dash.FieldColor().mode(dm.FieldColorModeId.FIXED))
        .override_by_name(
            "up",
            [dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "green"})],
        )
        .override_by_name(
            "degraded",
            [
                dm.DynamicConfigValue(
                    id_val="color", value={"mode": "fixed", "fixedColor": "orange"}
                )
            ],
        )
        .override_by_name(
            "down",
            [dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "red"})],
        )
        .override_by_name(
            "unknown",
            [dm.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "text"})],
        )
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .height(6)
        .span(10)
    )


def uptime_stat(
    title: str, expr: str, description: str, time_from: str | None = None
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(PROM_DS)
        .with_target(pq(expr, instant=True))
        .unit("percentunit")
        .decimals(2)
        .min(0)
        .max(1)
        .thresholds(uptime_thresholds())
        .color_scheme(dash.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .height(4)
        .span(5)
    )
    if time_from:
        panel = panel.time_from(time_from)
    return panel


def worst(title: str, expr: str, unit: str, value_name: str) -> table.Panel:
    return (
        table.Panel()
        .title(title)
        .datasource(PROM_DS)
        .with_target(pq(f"topk(10, {expr} * {NAMES})", instant=True, table=True))
        .with_transformation(
            organize(
                {
                    "Value": value_name,
                    "village_name": "Village",
                    "district_name": "District",
                    "village": "Code",
                },
                ["Time", "district", "__name__", "instance", "job"],
                ["village_name", "district_name", "village", "Value"],
            )
        )
        .sort_by([cb.TableSortByFieldState().display_name(value_name).desc(True)])
        .override_by_name(value_name, [dm.DynamicConfigValue(id_val="unit", value=unit)])
        .unit(unit)
        .height(9)
        .span(12)
    )


def open_alerts() -> table.Panel:
    return (
        table.Panel()
        .title("Open alerts (Prometheus rules)")
        .description("Alerts of rules/netwatch.rules.yml firing in Prometheus now.")
        .datasource(PROM_DS)
        .with_target(pq('ALERTS{alertstate="firing"}', instant=True, table=True))
        .with_transformation(
            organize(
                {
                    "alertname": "Alert",
                    "severity": "Severity",
                    "village": "Village",
                    "district": "District",
                },
                ["Time", "Value", "__name__", "alertstate", "instance", "job"],
            )
        )
        .unit("none")
        .no_value("No alert is firing")
        .height(8)
        .span(12)
    )


def engine_alerts() -> table.Panel:
    expr = f"netwatch_alert_active{{{DISTRICTS}}} == 1"
    return (
        table.Panel()
        .title("Open alerts (netwatch)")
        .description(
            "Alerts netwatch's own engine holds open (after hold-downs); notified=false while "
            "held back by a broken parent, maintenance, a silence or flapping."
        )
        .datasource(PROM_DS)
        .with_target(pq(expr, instant=True, table=True))
        .with_transformation(
            organize(
                {
                    "alertname": "Alert",
                    "severity": "Severity",
                    "village": "Village",
                    "device": "Device",
                    "notified": "Notified",
                },
                ["Time", "Value", "__name__", "district", "instance", "job"],
            )
        )
        .unit("none")
        .no_value("No alert is open")
        .height(8)
        .span(12)
    )


def build() -> dash.Dashboard:
    loss = (
        f"(1 - sum by (village) (rate(netwatch_ping_echo_replies_total{{{VILLAGES}}}[$__range]))"
        f" / sum by (village) (rate(netwatch_ping_echo_requests_total{{{VILLAGES}}}[$__range])))"
    )
    rtt = f"max by (village) (avg_over_time(netwatch_ping_rtt_avg_seconds{{{VILLAGES}}}[$__range]))"
    return (
        dash.Dashboard("netwatch / Overview")
        .uid(UID)
        .description("The free Wi-Fi of every village of the chosen regencies at a glance.")
        .tags(["netwatch", "prometheus"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .with_variable(datasource_variable("prometheus"))
        .with_variable(regency_variable(multi=True))
        .with_panel(villages_map())
        .with_panel(state_counts())
        .with_panel(
            uptime_stat(
                "Uptime today",
                f"avg(avg_over_time(netwatch_village_wifi_up{{{VILLAGES}}}[$__range]))",
                "Mean share of time villages' Wi-Fi was up since midnight.",
                time_from="now/d",
            )
        )
        .with_panel(
            uptime_stat(
                "Uptime 30 days",
                f"avg(village:netwatch_village_wifi_up:avg_over_time_30d{{{VILLAGES}}})",
                "Mean of the villages' 30-day uptime (recording rule).",
            )
        )
        .with_panel(
            uptime_stat(
                "Uptime 7 days",
                f"avg(village:netwatch_village_wifi_up:avg_over_time_7d{{{VILLAGES}}})",
                "Mean of the villages' 7-day uptime (recording rule).",
            )
        )
        .with_panel(
            uptime_stat(
                "Uptime 1 day",
                f"avg(village:netwatch_village_wifi_up:avg_over_time_1d{{{VILLAGES}}})",
                "Mean of the villages' 24-hour uptime (recording rule).",
            )
        )
        .with_panel(worst("Worst villages by packet loss", loss, "percentunit", "Loss"))
        .with_panel(worst("Worst villages by latency", rtt, "s", "Mean RTT"))
        .with_panel(engine_alerts())
        .with_panel(open_alerts())
    )
