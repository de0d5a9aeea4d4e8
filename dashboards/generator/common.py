"""Shared pieces: datasource variables, panel helpers, value mappings, village state code."""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import geomap
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import geomap as gm
from grafana_foundation_sdk.models.dashboard import DataSourceRef

PROM_DS = DataSourceRef(type_val="prometheus", uid="${datasource}")
INFLUX_DS = DataSourceRef(type_val="influxdb", uid="${datasource}")

# Village state as one number, the same in both datasources (the InfluxDB exporter's status_code).
STATE_CODES = {
    0: ("unknown", "text"),
    1: ("up", "green"),
    2: ("degraded", "orange"),
    3: ("down", "red"),
}

# 3 for down, 2 degraded, 1 up, 0 unknown, from the one-hot netwatch_village_status gauge.
PROM_STATE_CODE = (
    'sum without (status) (netwatch_village_status{{status="up"{sel}}} * 1'
    ' or netwatch_village_status{{status="degraded"{sel}}} * 2'
    ' or netwatch_village_status{{status="down"{sel}}} * 3'
    ' or netwatch_village_status{{status="unknown"{sel}}} * 0)'
)


def prom_state_code(selector: str = "") -> str:
    """PromQL for the village state code; selector is extra matchers, e.g. ', village="x"'."""
    return PROM_STATE_CODE.format(sel=selector)


def datasource_variable(kind: str) -> dash.DatasourceVariable:
    """The datasource as a variable: no UID is hard-coded, any Prometheus/InfluxDB will do."""
    label = "Prometheus" if kind == "prometheus" else "InfluxDB"
    return dash.DatasourceVariable("datasource").label(label).type(kind)


def state_mappings() -> list[dm.ValueMap]:
    """Value mappings for the village state code (text and colour)."""
    return [
        dm.ValueMap(
            options={
                str(code): dm.ValueMappingResult(text=text, color=color, index=code)
                for code, (text, color) in STATE_CODES.items()
            }
        )
    ]


def up_mappings() -> list[dm.ValueMap]:
    return [
        dm.ValueMap(
            options={
                "0": dm.ValueMappingResult(text="down", color="red", index=0),
                "1": dm.ValueMappingResult(text="up", color="green", index=1),
            }
        )
    ]


def state_thresholds() -> dash.ThresholdsConfig:
    """Colours by state code: grey unknown, green up, orange degraded, red down."""
    return steps([(None, "text"), (1, "green"), (2, "orange"), (3, "red")])


def steps(pairs: list[tuple[float | None, str]]) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=v, color=c) for v, c in pairs])
    )


def uptime_thresholds() -> dash.ThresholdsConfig:
    return steps([(None, "red"), (0.95, "orange"), (0.99, "green")])


class Refs:
    """Hands out refIds A, B, C... per panel."""

    def __init__(self) -> None:
        self._n = 0

    def next(self) -> str:
        ref = chr(ord("A") + self._n)
        self._n += 1
        return ref


def pq(
    expr: str,
    legend: str = "",
    *,
    instant: bool = False,
    table: bool = False,
    ref: str = "A",
) -> prom.Dataquery:
    """A Prometheus query; instant+table for tables, maps and stats of the current value."""
    q = prom.Dataquery().expr(expr).ref_id(ref).datasource(PROM_DS)
    q = q.instant() if instant else q.range()
    if legend:
        q = q.legend_format(legend)
    if table:
        from grafana_foundation_sdk.models.prometheus import PromQueryFormat

        q = q.format(PromQueryFormat.TABLE)
    return q


def with_targets(panel: Any, *targets: cogbuilder.Builder[Any]) -> Any:
    for t in targets:
        panel = panel.with_target(t)
    return panel


def transform(id_: str, options: dict[str, Any]) -> dm.DataTransformerConfig:
    return dm.DataTransformerConfig(id_val=id_, options=options)


def organize(rename: dict[str, str], hide: list[str], order: list[str] | None = None) -> Any:
    """Grafana's organize transformation: rename, hide and order table columns."""
    opts: dict[str, Any] = {
        "renameByName": rename,
        "excludeByName": dict.fromkeys(hide, True),
    }
    if order:
        opts["indexByName"] = {name: i for i, name in enumerate(order)}
    return transform("organize", opts)


def override(name: str, **props: object) -> tuple[str, list[dm.DynamicConfigValue]]:
    """(series name, properties) for panel.override_by_name / override_by_regexp."""
    return name, [
        dm.DynamicConfigValue(id_val=k.replace("__", "."), value=v) for k, v in props.items()
    ]


def query_variable(
    name: str, label: str, query: str, ds: DataSourceRef, regex: str = ""
) -> dash.QueryVariable:
    """A query variable refreshed with the time range; regex may name text/value groups."""
    var = (
        dash.QueryVariable(name)
        .label(label)
        .query(query)
        .datasource(ds)
        .refresh(dm.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
    )
    if regex:
        var = var.regex(regex)
    return var


# Regencies (kabupaten/kota) from their info metric: value the code, text the name.
REGENCY_QUERY = "query_result(netwatch_regency_info)"
REGENCY_REGEX = '/regency="(?<value>[^"]+)", regency_name="(?<text>[^"]+)"/'
# Kemendagri codes nest, so a village's or district's code starts with its regency's: this
# matcher value selects the chosen regencies' series (Grafana escapes the dots of a multi-value
# variable itself; a single value's dots match themselves among codes).
IN_REGENCY = r"$regency\\..+"


def regency_variable(multi: bool = False) -> dash.QueryVariable:
    """The regency to look at; the overview may take several (All: every regency)."""
    var = query_variable("regency", "Regency", REGENCY_QUERY, PROM_DS, REGENCY_REGEX)
    if multi:
        var = var.multi(True).include_all(True).all_value(".*")
    return var


def village_map(panel: geomap.Panel, color_field: str) -> geomap.Panel:
    """A villages Geomap: markers coloured by state, zoomed to fit the villages shown (one
    regency or a province)."""
    return (
        panel.view(geomap.MapViewConfig().id("fit").all_layers(True).lat(-8).lon(114).zoom(9))
        .basemap(cb.MapLayerOptions().type("default").name("Basemap"))
        .layers([village_markers(color_field)])
        .tooltip(geomap.TooltipOptions().mode(gm.TooltipMode.DETAILS))
        .unit("none")
        .mappings(state_mappings())
        .thresholds(state_thresholds())
        .color_scheme(dash.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        .height(14)
        .span(14)
    )


def village_markers(color_field: str) -> cb.MapLayerOptions:
    """The villages' Geomap layer: a marker at each village's coordinates, coloured by state."""
    return (
        cb.MapLayerOptions()
        .type("markers")
        .name("Villages")
        .location(
            cb.FrameGeometrySource()
            .mode(cm.FrameGeometrySourceMode.COORDS)
            .latitude("latitude")
            .longitude("longitude")
        )
        .config(
            {
                "showLegend": True,
                "style": {
                    "color": {"field": color_field, "fixed": "dark-green"},
                    "size": {"fixed": 6, "min": 4, "max": 12},
                    "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                    "opacity": 0.8,
                },
            }
        )
        .tooltip(True)
    )
