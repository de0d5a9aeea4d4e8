"""The committed dashboards: generated, schema-valid, datasource-agnostic, units, documented."""

from __future__ import annotations

import json
import re

import pytest
from ruamel.yaml import YAML

from dashboards.generator.__main__ import DASHBOARDS, canonical, render
from tests.helpers import grafana
from tests.helpers.procs import repo_root

ROOT = repo_root()
FILES = sorted(DASHBOARDS)
BUILTIN_SERIES = {"ALERTS", "up"}  # Prometheus's own: alert state and scrape health


@pytest.mark.parametrize("rel", FILES)
def test_committed_json_is_what_the_generator_writes(rel: str) -> None:
    committed = (ROOT / "dashboards" / rel).read_text(encoding="utf-8")
    assert committed == render(DASHBOARDS[rel]), f"run: python -m dashboards.generator ({rel})"


@pytest.mark.parametrize("rel", FILES)
def test_json_round_trips_through_grafana_schema_types(rel: str) -> None:
    # The SDK's Dashboard model (Grafana's schema) drops keys it does not know and rejects
    # wrong types: decoding and encoding again must give the file back unchanged.
    model = json.loads((ROOT / "dashboards" / rel).read_text(encoding="utf-8"))
    assert canonical(model) == model
    assert model["uid"] and model["title"] and model["schemaVersion"] >= 36


@pytest.mark.parametrize("rel", FILES)
def test_datasource_is_a_variable_everywhere(rel: str) -> None:
    kind = rel.split("/")[0]
    model = grafana.load(ROOT / "dashboards" / rel)
    ds_vars = [v for v in model["templating"]["list"] if v["type"] == "datasource"]
    assert [(v["name"], v["query"]) for v in ds_vars] == [("datasource", kind)]
    refs = []
    for panel in grafana.panels(model):
        if panel["type"] == "row":
            continue
        refs.append(panel["datasource"])
        refs.extend(t["datasource"] for t in panel["targets"])
    for var in model["templating"]["list"]:
        if var["type"] == "query":
            refs.append(var["datasource"])
    assert refs
    assert all(r == {"type": kind, "uid": "${datasource}"} for r in refs), refs
    # No other UID anywhere: the file imports into any Grafana with any datasource names.
    uids = re.findall(r'"uid": "([^"]*)"', json.dumps(model))
    assert set(uids) == {"${datasource}", model["uid"]}


def _units(model: dict) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for panel in grafana.panels(model):
        if panel["type"] == "row":
            continue
        units = {panel["fieldConfig"]["defaults"].get("unit", "")}
        for o in panel["fieldConfig"]["overrides"]:
            units |= {p["value"] for p in o["properties"] if p["id"] == "unit"}
        out[panel["title"]] = units
    return out


@pytest.mark.parametrize("rel", FILES)
def test_every_panel_has_a_unit(rel: str) -> None:
    units = _units(grafana.load(ROOT / "dashboards" / rel))
    assert all("" not in u for u in units.values()), units


def test_units_of_the_key_panels() -> None:
    def units(rel: str) -> dict[str, set[str]]:
        return _units(grafana.load(ROOT / "dashboards" / rel))

    village, device = units("prometheus/village.json"), units("prometheus/device.json")
    assert village["Uplink bandwidth (village router)"] == {"bps"}
    assert village["Round-trip time and loss"] == {"s", "percentunit"}
    assert village["Uptime 30 d"] == {"percentunit"}
    assert device["Optical power"] == {"dBm"}
    assert device["Interface traffic"] == {"bps"}
    assert units("prometheus/overview.json")["Uptime today"] == {"percentunit"}
    assert units("influxdb/village.json")["Uplink bandwidth (village router)"] == {"bps"}
    assert units("influxdb/overview.json")["Worst villages by latency"] == {"s"}


def documented_metrics() -> set[str]:
    """Metric names in docs/metrics.md tables; `..._x_total` expands from the name before it."""
    names: set[str] = set()
    for line in (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        cell = line.split("|")[1]
        previous = ""
        for token in re.findall(r"`([^`]+)`", cell):
            if token.startswith("..._") and previous:
                tail = token[4:]
                head = previous.split("_")[: -len(tail.split("_"))]
                token = "_".join([*head, tail])
            names.add(token)
            previous = token
    return names


def recorded_metrics() -> set[str]:
    rules = YAML(typ="safe").load(
        (ROOT / "rules" / "netwatch.rules.yml").read_text(encoding="utf-8")
    )
    return {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}


def test_every_prometheus_panel_metric_is_documented() -> None:
    documented = documented_metrics() | recorded_metrics() | BUILTIN_SERIES
    histogram_parts = ("_bucket", "_count", "_sum")
    missing = {}
    exprs = [(q.id, q.text) for q in grafana.queries("prometheus")]
    exprs += [(f"{d}:${v['name']}", v["query"]) for d, v in grafana.variables("prometheus")]
    assert len(exprs) > 40
    for where, expr in exprs:
        for name in grafana.promql_metrics(expr):
            base = next((name[: -len(p)] for p in histogram_parts if name.endswith(p)), name)
            if name not in documented and base not in documented:
                missing[where] = name
    assert not missing, f"metrics not in docs/metrics.md or the rules: {missing}"


def test_metric_extraction_finds_names() -> None:
    # The check above is only as good as this parser.
    got = grafana.promql_metrics(
        'topk(10, 1 - sum by (village) (rate(netwatch_ping_echo_replies_total{village!=""}[5m]))'
        " * on (village) group_left (village_name) netwatch_village_info)"
        " or village:netwatch_village_wifi_up:avg_over_time_1d"
    )
    assert got == {
        "netwatch_ping_echo_replies_total",
        "netwatch_village_info",
        "village:netwatch_village_wifi_up:avg_over_time_1d",
    }


def test_every_influxql_measurement_and_field_is_documented() -> None:
    doc = (ROOT / "docs" / "influxdb.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`([a-z_]+)`", doc))
    queries = [q.text for q in grafana.queries("influxdb")]
    queries += [v["query"] for _d, v in grafana.variables("influxdb")]
    seen = set()
    for q in queries:
        seen |= set(re.findall(r'FROM "([^"]+)"', q))
        seen |= set(re.findall(r'\w+\("([^"]+)"\)', q))  # fields inside functions
        seen |= set(re.findall(r'GROUP BY [^f]*?"([^"]+)"', q))
    assert {"netwatch_village", "netwatch_ping", "wifi_up", "latitude"} <= seen
    assert seen - documented == set()


def test_provisioning_files() -> None:
    yaml = YAML(typ="safe")
    prov = ROOT / "dashboards" / "provisioning"
    ds = yaml.load((prov / "datasources" / "netwatch.yaml").read_text(encoding="utf-8"))
    assert ds["apiVersion"] == 1
    kinds = {d["type"] for d in ds["datasources"]}
    assert kinds == {"prometheus", "influxdb"}  # the kinds the datasource variables ask for
    assert all(d["url"].startswith("${") for d in ds["datasources"])  # no address baked in
    provider = yaml.load((prov / "dashboards" / "netwatch.yaml").read_text(encoding="utf-8"))
    (p,) = provider["providers"]
    assert p["type"] == "file" and p["options"]["foldersFromFilesStructure"] is True
    assert "folder" not in p  # Grafana ignores folders from files when `folder` is set


def test_dashboard_uids_and_titles_are_unique() -> None:
    models = [grafana.load(ROOT / "dashboards" / rel) for rel in FILES]
    assert len({m["uid"] for m in models}) == len({m["title"] for m in models}) == len(models)
    assert all(len(m["uid"]) <= 40 for m in models)  # Grafana's uid limit
