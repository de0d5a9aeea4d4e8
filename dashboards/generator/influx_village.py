"""District and village detail on InfluxDB (InfluxQL; variables: regency → district → village)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import stat, statetimeline, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.generator.common import (
    INFLUX_DS,
    datasource_variable,
    query_variable,
    state_mappings,
    state_thresholds,
    up_mappings,
    uptime_thresholds,
)
from dashboards.generator.influxql import InfluxQL

UID = "netwatch-village-influxdb"
V = "\"village\" = '$village'"
# Regencies from the district codes they start with (Kemendagri codes nest): no extra tag.
REGENCY_QUERY = 'SHOW TAG VALUES FROM "netwatch_village" WITH KEY = "district"'
REGENCY_REGEX = r"/^(\d\d\.\d\d)\./"
DISTRICT_QUERY = (
    'SHOW TAG VALUES FROM "netwatch_village" WITH KEY = "district"'
    r' WHERE "district" =~ /^$regency\./'
)
VILLAGE_QUERY = (
    'SHOW TAG VALUES FROM "netwatch_village" WITH KEY = "village" WHERE "district" = \'$district\''
)

UPTIME = 'SELECT mean("wifi_up") FROM "netwatch_village"'
QUERIES = {
    "district_uptime": f"{UPTIME} WHERE \"district\" = '$district' AND $timeFilter",
    "uptime": f"{UPTIME} WHERE {V} AND $timeFilter",
    "uptime_30d": f"{UPTIME} WHERE {V} AND time > now() - 30d",
    "state": (
        f'SELECT last("status_code") AS "Wi-Fi" FROM "netwatch_village" WHERE {V} AND $timeFilter '
        "GROUP BY time($__interval) fill(none)"
    ),
    "devices": (
        f'SELECT last("up") FROM "netwatch_ping" WHERE {V} AND $timeFilter '
        'GROUP BY time($__interval), "device" fill(none)'
    ),
    "rtt": (
        'SELECT min("rtt_min_seconds") AS "min", mean("rtt_avg_seconds") AS "avg", '
        'max("rtt_max_seconds") AS "max" FROM "netwatch_ping" '
        f'WHERE {V} AND $timeFilter GROUP BY time($__interval), "device" fill(none)'
    ),
    "loss": (
        'SELECT mean("loss_ratio") AS "loss" FROM "netwatch_ping" '
        f'WHERE {V} AND $timeFilter GROUP BY time($__interval), "device" fill(none)'
    ),
    "bandwidth": (
        'SELECT mean("in_bits_per_second") AS "in", mean("out_bits_per_second") AS "out" '
        f'FROM "netwatch_interface" WHERE {V} AND "role" = \'router\' AND $timeFilter '
        'GROUP BY time($__interval), "device", "interface" fill(none)'
    ),
    "clients": (
        'SELECT max("clients") AS "clients" FROM "netwatch_wifi" '
        f'WHERE {V} AND $timeFilter GROUP BY time($__interval), "device" fill(none)'
    ),
}


def uptime(title: str, query: str, w: int = 6) -> stat.Panel:
    return (
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
        .height(4)
        .span(w)
    )


def build() -> dash.Dashboard:
    q = QUERIES
    return (
        dash.Dashboard("netwatch / District and village (InfluxDB)")
        .uid(UID)
        .description(
            "One district and one of its villages from InfluxDB: uptime, state, latency, "
            "bandwidth, clients."
        )
        .tags(["netwatch", "influxdb"])
        .refresh("30s")
        .time("now-24h", "now")
        .timezone("browser")
        .with_variable(datasource_variable("influxdb"))
        .with_variable(
            query_variable("regency", "Regency", REGENCY_QUERY, INFLUX_DS, REGENCY_REGEX)
        )
        .with_variable(query_variable("district", "District", DISTRICT_QUERY, INFLUX_DS))
        .with_variable(query_variable("village", "Village", VILLAGE_QUERY, INFLUX_DS))
        .with_panel(uptime("District uptime (range)", q["district_uptime"]))
        .with_panel(uptime("Village uptime (range)", q["uptime"]))
        .with_panel(uptime("Village uptime 30 d", q["uptime_30d"]))
        .with_panel(
            statetimeline.Panel()
            .title("Village state")
            .datasource(INFLUX_DS)
            .with_target(InfluxQL(q["state"], "A", alias="Wi-Fi"))
            .with_target(InfluxQL(q["devices"], "B", alias="$tag_device"))
            .mappings(state_mappings())
            .thresholds(state_thresholds())
            .override_by_query(
                "B",
                [
                    dm.DynamicConfigValue(
                        id_val="mappings", value=[m.to_json() for m in up_mappings()]
                    )
                ],
            )
            .unit("none")
            .merge_values(True)
            .show_value(cm.VisibilityMode.NEVER)
            .height(7)
            .span(24)
        )
        .with_panel(
            timeseries.Panel()
            .title("Round-trip time and loss")
            .description("Min, mean and max RTT per device; loss on the right axis.")
            .datasource(INFLUX_DS)
            .with_target(InfluxQL(q["rtt"], "A", alias="$tag_device $col"))
            .with_target(InfluxQL(q["loss"], "B", alias="$tag_device loss"))
            .override_by_regexp(
                ".* max$", [dm.DynamicConfigValue(id_val="custom.fillOpacity", value=20)]
            )
            .override_by_query(
                "B",
                [
                    dm.DynamicConfigValue(id_val="unit", value="percentunit"),
                    dm.DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
                    dm.DynamicConfigValue(id_val="custom.drawStyle", value="bars"),
                ],
            )
            .unit("s")
            .min(0)
            .height(9)
            .span(24)
        )
        .with_panel(
            timeseries.Panel()
            .title("Uplink bandwidth (village router)")
            .datasource(INFLUX_DS)
            .with_target(InfluxQL(q["bandwidth"], "A", alias="$tag_device $tag_interface $col"))
            .override_by_regexp(
                ".* out$", [dm.DynamicConfigValue(id_val="custom.transform", value="negative-Y")]
            )
            .unit("bps")
            .height(8)
            .span(12)
        )
        .with_panel(
            timeseries.Panel()
            .title("Wi-Fi clients")
            .datasource(INFLUX_DS)
            .with_target(InfluxQL(q["clients"], "A", alias="$tag_device"))
            .unit("none")
            .decimals(0)
            .min(0)
            .height(8)
            .span(12)
        )
    )
