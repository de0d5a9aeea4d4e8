"""Regency overview on InfluxDB (InfluxQL): map, counts, worst villages, open alerts, uptime."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import geomap, stat, table
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.generator.common import (
    INFLUX_DS,
    datasource_variable,
    organize,
    state_mappings,
    state_thresholds,
    transform,
    uptime_thresholds,
    village_map,
)
from dashboards.generator.influxql import InfluxQL

UID = "netwatch-overview-influxdb"

# Plain InfluxQL (no subqueries) so that InfluxDB 1.x, 2.x (DBRP) and 3.x all accept it; what
# InfluxQL cannot do (count per state, top N) Grafana's transformations do.
LATEST_VILLAGES = (
    'SELECT last("status_code") AS "state", last("latitude") AS "latitude", '
    'last("longitude") AS "longitude" FROM "netwatch_village" '
    "WHERE $timeFilter AND time > now() - 10m "
    'GROUP BY "village", "village_name", "district_name"'
)
LOSS = (
    'SELECT mean("loss_ratio") AS "loss" FROM "netwatch_ping" '
    'WHERE $timeFilter AND "village" != \'\' GROUP BY "village", "village_name", "district_name"'
)
RTT = (
    'SELECT mean("rtt_avg_seconds") AS "rtt" FROM "netwatch_ping" '
    'WHERE $timeFilter AND "village" != \'\' GROUP BY "village", "village_name", "district_name"'
)
ALERTS = (
    'SELECT last("active_seconds") AS "active" FROM "netwatch_alert" '
    "WHERE $timeFilter AND time > now() - 5m "
    'GROUP BY "alertname", "severity", "village", "village_name", "device"'
)
UPTIME_RANGE = 'SELECT mean("wifi_up") FROM "netwatch_village" WHERE $timeFilter'
UPTIME_30D = 'SELECT mean("wifi_up") FROM "netwatch_village" WHERE time > now() - 30d'
# InfluxQL answers one series per tag set: one table for the map, counts and sorting.
MERGE = transform("merge", {})
TAG_COLUMNS = {"village_name": "Village", "district_name": "District", "village": "Code"}


def villages_map() -> geomap.Panel:
    panel = (
        geomap.Panel()
        .title("Villages by Wi-Fi state")
        .description("Each village at its coordinates; green up, orange degraded, red down.")
        .datasource(INFLUX_DS)
        .with_target(InfluxQL(LATEST_VILLAGES, table=True))
        .with_transformation(MERGE)
    )
    return village_map(panel, "state")


def state_counts() -> table.Panel:
    return (
        table.Panel()
        .title("Villages by state")
        .description("Villages per state from each village's latest snapshot.")
        .datasource(INFLUX_DS)
        .with_target(InfluxQL(LATEST_VILLAGES, table=True))
        .with_transformation(MERGE)
        .with_transformation(
            transform(
                "groupBy",
                {
                    "fields": {
                        "state": {"aggregations": [], "operation": "groupby"},
                        "village": {"aggregations": ["count"], "operation": "aggregate"},
                    }
                },
            )
        )
        .with_transformation(organize({"state": "State", "village (count)": "Villages"}, []))
        .override_by_name(
            "State",
            [
                dm.DynamicConfigValue(
                    id_val="mappings", value=[m.to_json() for m in state_mappings()]
                ),
                dm.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
            ],
        )
        .thresholds(state_thresholds())
        .unit("none")
        .height(5)
        .span(10)
    )


def uptime(title: str, query: str, time_from: str | None = None) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .datasource(INFLUX_DS)
        .with_target(InfluxQL(query))
        .unit("percentunit")
        .decimals(2)
        .min(0)
        .max(1)
        .thresholds(uptime_thresholds())
        .color_scheme(dash.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .height(5)
        .span(5)
    )
    return panel.time_from(time_from) if time_from else panel


def worst(title: str, query: str, field: str, unit: str, label: str) -> table.Panel:
    return (
        table.Panel()
        .title(title)
        .datasource(INFLUX_DS)
        .with_target(InfluxQL(query, table=True))
        .with_transformation(MERGE)
        .with_transformation(transform("sortBy", {"sort": [{"field": field, "desc": True}]}))
        .with_transformation(transform("limit", {"limitField": 10}))
        .with_transformation(
            organize(
                {**TAG_COLUMNS, field: label},
                ["Time"],
                ["village_name", "district_name", "village", field],
            )
        )
        .override_by_name(label, [dm.DynamicConfigValue(id_val="unit", value=unit)])
        .unit(unit)
        .height(9)
        .span(12)
    )


def open_alerts() -> table.Panel:
    return (
        table.Panel()
        .title("Open alerts")
        .description("Alerts netwatch reported firing in its latest snapshots.")
        .datasource(INFLUX_DS)
        .with_target(InfluxQL(ALERTS, table=True))
        .with_transformation(MERGE)
        .with_transformation(
            organize(
                {
                    "alertname": "Alert",
                    "severity": "Severity",
                    "village_name": "Village",
                    "device": "Device",
                    "active": "Firing for",
                },
                ["Time", "village"],
            )
        )
        .override_by_name("Firing for", [dm.DynamicConfigValue(id_val="unit", value="s")])
        .unit("none")
        .no_value("No alert is firing")
        .height(8)
        .span(24)
    )


def build() -> dash.Dashboard:
    return (
        dash.Dashboard("netwatch / Regency overview (InfluxDB)")
        .uid(UID)
        .description("The free Wi-Fi of every village in the regency at a glance, from InfluxDB.")
        .tags(["netwatch", "influxdb"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .with_variable(datasource_variable("influxdb"))
        .with_panel(villages_map())
        .with_panel(state_counts())
        .with_panel(uptime("Uptime today", UPTIME_RANGE, time_from="now/d"))
        .with_panel(uptime("Uptime 30 days", UPTIME_30D))
        .with_panel(worst("Worst villages by packet loss", LOSS, "loss", "percentunit", "Loss"))
        .with_panel(worst("Worst villages by latency", RTT, "rtt", "s", "Mean RTT"))
        .with_panel(open_alerts())
    )
