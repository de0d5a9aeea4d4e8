"""District and village detail on Prometheus (variables: district → village)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import stat, statetimeline, table, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.generator.common import (
    PROM_DS,
    datasource_variable,
    organize,
    override,
    pq,
    prom_state_code,
    query_variable,
    regency_variable,
    state_mappings,
    state_thresholds,
    up_mappings,
    uptime_thresholds,
)
from dashboards.generator.prom_wifi_fibre import (
    clients_per_band,
    clients_per_ssid,
    radio_quality,
    village_onu,
    village_onu_rx,
    village_onu_table,
)

UID = "netwatch-village"
V = 'village="$village"'

DISTRICT_QUERY = 'query_result(netwatch_district_info{regency="$regency"})'
DISTRICT_REGEX = '/district="(?<value>[^"]+)", district_name="(?<text>[^"]+)"/'
VILLAGE_QUERY = 'query_result(netwatch_village_info{district="$district"})'
VILLAGE_REGEX = '/village="(?<value>[^"]+)", village_name="(?<text>[^"]+)"/'


def variables() -> list[dash.QueryVariable]:
    return [
        regency_variable(),
        query_variable("district", "District", DISTRICT_QUERY, PROM_DS, DISTRICT_REGEX),
        query_variable("village", "Village", VILLAGE_QUERY, PROM_DS, VILLAGE_REGEX),
    ]


def uptime(title: str, expr: str, time_from: str | None = None) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
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
        .span(4)
    )
    return panel.time_from(time_from) if time_from else panel


def district_table() -> table.Panel:
    expr = (
        'village:netwatch_village_wifi_up:avg_over_time_1d{district="$district"}'
        " * on (village) group_left (village_name) netwatch_village_info"
    )
    return (
        table.Panel()
        .title("Villages of the district: 24-hour uptime")
        .datasource(PROM_DS)
        .with_target(pq(expr, instant=True, table=True))
        .with_transformation(
            organize(
                {"village_name": "Village", "village": "Code", "Value": "Uptime 24 h"},
                ["Time", "district", "__name__", "instance", "job"],
                ["village_name", "village", "Value"],
            )
        )
        .sort_by([cb.TableSortByFieldState().display_name("Uptime 24 h").desc(False)])
        .unit("percentunit")
        .thresholds(uptime_thresholds())
        .height(8)
        .span(12)
    )


def state_timeline() -> statetimeline.Panel:
    return (
        statetimeline.Panel()
        .title("Village state")
        .datasource(PROM_DS)
        .with_target(pq(prom_state_code(f", {V}"), "Wi-Fi", ref="A"))
        .with_target(pq(f"netwatch_device_up{{{V}}}", "{{device}}", ref="B"))
        .mappings(state_mappings() + up_mappings())
        .thresholds(state_thresholds())
        .unit("none")
        .override_by_query(
            "B",
            [dm.DynamicConfigValue(id_val="mappings", value=[m.to_json() for m in up_mappings()])],
        )
        .merge_values(True)
        .show_value(cm.VisibilityMode.NEVER)
        .height(7)
        .span(24)
    )


def bandwidth() -> timeseries.Panel:
    sel = f'{V}, role="router"'
    rx, tx = (
        "sum by (device, interface) "
        f"(rate(netwatch_snmp_interface_{way}_bytes_total{{{sel}}}[$__rate_interval])) * 8"
        for way in ("receive", "transmit")
    )
    name, props = override("/ out$/", custom__transform="negative-Y")
    return (
        timeseries.Panel()
        .title("Uplink bandwidth (village router)")
        .description(
            "Bits per second through the village router's interfaces; out drawn below zero."
        )
        .datasource(PROM_DS)
        .with_target(pq(rx, "{{device}} {{interface}} in", ref="A"))
        .with_target(pq(tx, "{{device}} {{interface}} out", ref="B"))
        .override_by_regexp(name.strip("/"), props)
        .unit("bps")
        .fill_opacity(10)
        .height(8)
        .span(12)
    )


def wifi_clients() -> timeseries.Panel:
    # Profiles count clients at several scopes (ssid, radio...): sum within a scope, then take
    # the most complete scope per device, never a sum across scopes.
    expr = f"max by (device) (sum by (device, scope) (netwatch_snmp_wifi_clients{{{V}}}))"
    return (
        timeseries.Panel()
        .title("Wi-Fi clients")
        .datasource(PROM_DS)
        .with_target(pq(expr, "{{device}}"))
        .unit("none")
        .decimals(0)
        .min(0)
        .height(8)
        .span(12)
    )


def smokeping() -> timeseries.Panel:
    """SmokePing-style: the min–max band of each round, the mean line, and loss on the right."""
    loss = (
        f"1 - sum by (device) (rate(netwatch_ping_echo_replies_total{{{V}}}[$__rate_interval]))"
        f" / sum by (device) (rate(netwatch_ping_echo_requests_total{{{V}}}[$__rate_interval]))"
    )
    return (
        timeseries.Panel()
        .title("Round-trip time and loss")
        .description("Min, mean and max RTT of each ping round per device; loss on the right axis.")
        .datasource(PROM_DS)
        .with_target(pq(f"netwatch_ping_rtt_max_seconds{{{V}}}", "{{device}} max", ref="A"))
        .with_target(pq(f"netwatch_ping_rtt_avg_seconds{{{V}}}", "{{device}} avg", ref="B"))
        .with_target(pq(f"netwatch_ping_rtt_min_seconds{{{V}}}", "{{device}} min", ref="C"))
        .with_target(pq(loss, "{{device}} loss", ref="D"))
        .unit("s")
        .min(0)
        .line_width(1)
        .override_by_regexp(
            ".* max$",
            [
                dm.DynamicConfigValue(id_val="custom.fillOpacity", value=20),
                dm.DynamicConfigValue(id_val="custom.lineWidth", value=0),
            ],
        )
        .override_by_regexp(".* min$", [dm.DynamicConfigValue(id_val="custom.lineWidth", value=0)])
        .override_by_query(
            "D",
            [
                dm.DynamicConfigValue(id_val="unit", value="percentunit"),
                dm.DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
                dm.DynamicConfigValue(id_val="custom.drawStyle", value="bars"),
                dm.DynamicConfigValue(id_val="min", value=0),
                dm.DynamicConfigValue(id_val="max", value=1),
            ],
        )
        .height(9)
        .span(24)
    )


def build() -> dash.Dashboard:
    d = (
        dash.Dashboard("netwatch / District and village")
        .uid(UID)
        .description(
            "One district and one of its villages: uptime, state, latency, bandwidth, clients."
        )
        .tags(["netwatch", "prometheus"])
        .refresh("30s")
        .time("now-24h", "now")
        .timezone("browser")
        .with_variable(datasource_variable("prometheus"))
    )
    for var in variables():
        d = d.with_variable(var)
    return (
        d.with_row(dash.Row("District $district"))
        .with_panel(
            uptime(
                "District uptime 24 h",
                'district:netwatch_village_wifi_up:avg_over_time_1d{district="$district"}',
            )
        )
        .with_panel(
            uptime(
                "District uptime 7 d",
                'district:netwatch_village_wifi_up:avg_over_time_7d{district="$district"}',
            )
        )
        .with_panel(
            uptime(
                "District uptime 30 d",
                'district:netwatch_village_wifi_up:avg_over_time_30d{district="$district"}',
            )
        )
        .with_panel(district_table())
        .with_row(dash.Row("Village $village"))
        .with_panel(
            uptime("Uptime (range)", f"avg_over_time(netwatch_village_wifi_up{{{V}}}[$__range])")
        )
        .with_panel(
            uptime("Uptime 24 h", f"village:netwatch_village_wifi_up:avg_over_time_1d{{{V}}}")
        )
        .with_panel(
            uptime("Uptime 7 d", f"village:netwatch_village_wifi_up:avg_over_time_7d{{{V}}}")
        )
        .with_panel(
            uptime("Uptime 30 d", f"village:netwatch_village_wifi_up:avg_over_time_30d{{{V}}}")
        )
        .with_panel(state_timeline())
        .with_panel(smokeping())
        .with_panel(bandwidth())
        .with_panel(wifi_clients())
        .with_row(dash.Row("Wi-Fi $village"))
        .with_panel(clients_per_ssid(V))
        .with_panel(clients_per_band(V))
        .with_panel(radio_quality(V))
        .with_row(dash.Row("Fibre $village"))
        .with_panel(village_onu(V))
        .with_panel(village_onu_rx(V))
        .with_panel(village_onu_table(V))
    )
