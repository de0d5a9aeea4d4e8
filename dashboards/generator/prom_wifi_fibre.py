"""Wi-Fi and fibre panels (Prometheus): clients per SSID and band, controller APs, radio quality;
ONUs per PON port, ONU state and receive power against the GPON class B+ threshold band.

`sel` is the panel's selector (`device="$device"` or `village="$village"`). Clients are summed
within one scope only (docs/metrics.md: each scope partitions the same clients).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import table, timeseries
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.generator.common import PROM_DS, organize, pq, steps, up_mappings

ONU_RX_MIN_DBM = -27.0  # settings.fibre.onu_rx_min_dbm's default (ITU-T G.984.2 class B+)
HIDDEN = ["Time", "district", "village", "role", "instance", "job", "__name__"]


def _clients(title: str, sel: str, scope: str) -> timeseries.Panel:
    total = f'sum by ({scope}) (netwatch_snmp_wifi_clients{{{sel}, scope="{scope}"}})'
    # A device that does not say (MikroTik virtual APs have no band): "unknown", not blank.
    expr = f'label_replace({total}, "{scope}", "unknown", "{scope}", "")'
    return (
        timeseries.Panel()
        .title(title)
        .description(f"Associated clients summed per {scope} (scope {scope} only).")
        .datasource(PROM_DS)
        .with_target(pq(expr, "{{" + scope + "}}"))
        .unit("none")
        .decimals(0)
        .min(0)
        .stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL))
        .fill_opacity(20)
        .height(8)
        .span(12)
    )


def clients_per_ssid(sel: str) -> timeseries.Panel:
    return _clients("Clients per SSID", sel, "ssid")


def clients_per_band(sel: str) -> timeseries.Panel:
    return _clients("Clients per band", sel, "band")


def radio_quality(sel: str) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("Radio quality")
        .description("Noise floor per radio interface (dBm) and link quality (CCQ, right axis).")
        .datasource(PROM_DS)
        .with_target(
            pq(
                f"netwatch_snmp_wifi_radio_noise_floor_dbm{{{sel}}}",
                "{{interface}} noise floor",
                ref="A",
            )
        )
        .with_target(
            pq(f"netwatch_snmp_wifi_link_ccq_ratio{{{sel}}}", "{{interface}} CCQ", ref="B")
        )
        .override_by_query(
            "B",
            [
                dm.DynamicConfigValue(id_val="unit", value="percentunit"),
                dm.DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
            ],
        )
        .unit("dBm")
        .height(8)
        .span(12)
    )


def controller_aps(sel: str) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("APs on the controller")
        .description("APs the controller knows, sees joined (connected) and lists otherwise.")
        .datasource(PROM_DS)
        .with_target(pq(f"netwatch_snmp_wifi_aps{{{sel}}}", "{{state}}"))
        .unit("none")
        .decimals(0)
        .min(0)
        .height(8)
        .span(12)
    )


def _up_table(
    title: str, about: str, expr: str, columns: dict[str, str], hide: list[str]
) -> table.Panel:
    """A table of one 0/1 gauge's series: label columns, then the value as up/down."""
    up = columns["Value"]
    return (
        table.Panel()
        .title(title)
        .description(about)
        .datasource(PROM_DS)
        .with_target(pq(expr, instant=True, table=True))
        .with_transformation(organize(columns, [*HIDDEN, "device", *hide], list(columns)))
        .override_by_name(
            up,
            [
                dm.DynamicConfigValue(
                    id_val="mappings", value=[m.to_json() for m in up_mappings()]
                ),
                dm.DynamicConfigValue(
                    id_val="custom.cellOptions", value={"type": "color-background"}
                ),
            ],
        )
        .unit("none")
        .height(8)
        .span(12)
    )


def managed_aps(sel: str) -> table.Panel:
    return _up_table(
        "Managed APs",
        "Each AP the controller manages: joined (1) or not, in the controller's word.",
        f"netwatch_snmp_wifi_ap_up{{{sel}}}",
        {"ap": "AP", "ap_mac": "MAC", "state": "State", "Value": "Joined"},
        [],
    )


def pon_onus(sel: str) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("ONUs per PON port")
        .description("ONUs the OLT knows on each PON port, online and offline.")
        .datasource(PROM_DS)
        .with_target(pq(f"netwatch_snmp_pon_onus{{{sel}}}", "{{pon}} {{state}}"))
        .unit("none")
        .decimals(0)
        .min(0)
        .height(8)
        .span(12)
    )


def onu_state(sel: str) -> table.Panel:
    return _up_table(
        "ONU state",
        "Each ONU as its OLT sees it: online (1) or not, the OLT's own word, and the ONU's "
        "name (description) and serial number as the OLT lists them.",
        f"netwatch_snmp_onu_up{{{sel}}}",
        {"pon": "PON", "onu": "ONU", "onu_name": "Name", "onu_serial": "Serial", "state": "State",
         "Value": "Online"},
        [],
    )  # fmt: skip


def _rx(expr: str, legend: str) -> timeseries.Panel:
    """Receive power; the band below −27 dBm (GPON class B+) is drawn red."""
    return (
        timeseries.Panel()
        .title("ONU receive power")
        .description(
            f"dBm received at the ONU (side onu) and at the OLT from it (side olt); below "
            f"{ONU_RX_MIN_DBM:g} dBm (GPON class B+, settings.fibre) is a warning."
        )
        .datasource(PROM_DS)
        .with_target(pq(expr, legend))
        .unit("dBm")
        .thresholds(steps([(None, "red"), (ONU_RX_MIN_DBM, "transparent")]))
        .thresholds_style(
            cb.GraphThresholdsStyleConfig().mode(cm.GraphTresholdsStyleMode.LINE_AND_AREA)
        )
        .height(8)
        .span(12)
    )


def onu_rx(sel: str) -> timeseries.Panel:
    expr = f'netwatch_snmp_optical_rx_power_dbm{{{sel}, side=~"onu|olt"}}'
    return _rx(expr, "{{pon}}:{{onu}} {{onu_name}} {{side}}")


def wifi_row(sel: str, controller: bool) -> list[dash.Row | timeseries.Panel | table.Panel]:
    """The Wi-Fi row: clients per SSID and band, radio quality, and a controller's APs."""
    out: list[dash.Row | timeseries.Panel | table.Panel] = [
        dash.Row("Wi-Fi"),
        clients_per_ssid(sel),
        clients_per_band(sel),
        radio_quality(sel),
    ]
    if controller:
        out += [controller_aps(sel), managed_aps(sel)]
    return out


def fibre_row(sel: str) -> list[dash.Row | timeseries.Panel | table.Panel]:
    return [dash.Row("Fibre"), pon_onus(sel), onu_state(sel), onu_rx(sel)]


def village_onu(sel: str) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("ONU and uplink")
        .description(
            "The village's ONU as its OLT sees it (1 online) and its port on the POP (1 up), "
            "from the inventory's onu: and uplink: links."
        )
        .datasource(PROM_DS)
        .with_target(
            pq(f"netwatch_village_onu_up{{{sel}}}", "ONU {{onu_name}} {{onu_serial}}", ref="A")
        )
        .with_target(
            pq(f"netwatch_village_uplink_up{{{sel}}}", "port {{interface}} on {{device}}", ref="B")
        )
        .mappings(up_mappings())
        .unit("none")
        .min(0)
        .max(1)
        .height(8)
        .span(12)
    )


def village_onu_table(sel: str) -> table.Panel:
    return _up_table(
        "Village ONU",
        "The village's ONU (inventory onu:) on its OLT: name (description) and serial number as "
        "the OLT lists them, the OLT's state word and why it last went offline.",
        f"netwatch_village_onu_up{{{sel}}}",
        {"olt": "OLT", "onu": "ONU", "onu_name": "Name", "onu_serial": "Serial", "state": "State",
         "cause": "Cause", "Value": "Online"},
        ["village", "district"],
    )  # fmt: skip


def village_onu_rx(sel: str) -> timeseries.Panel:
    return _rx(f"netwatch_village_onu_rx_power_dbm{{{sel}}}", "{{side}}")
