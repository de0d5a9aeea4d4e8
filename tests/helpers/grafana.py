"""Read the generated Grafana dashboards: their queries, variables and Grafana-side substitution."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers.procs import repo_root

DASHBOARDS = repo_root() / "dashboards"


@dataclass(frozen=True)
class Query:
    dashboard: str  # file relative to dashboards/
    panel: str
    ref: str
    text: str  # PromQL or InfluxQL as stored
    instant: bool
    panel_type: str

    @property
    def id(self) -> str:
        return f"{self.dashboard}:{self.panel}:{self.ref}"


def dashboard_files(kind: str) -> list[Path]:
    """The committed dashboards of one datasource kind ('prometheus' or 'influxdb')."""
    return sorted((DASHBOARDS / kind).glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def panels(model: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in model.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows keep theirs inside


def queries(kind: str) -> list[Query]:
    out = []
    for path in dashboard_files(kind):
        for panel in panels(load(path)):
            for t in panel.get("targets", []):
                text = t.get("expr") if kind == "prometheus" else t.get("query")
                out.append(
                    Query(
                        f"{kind}/{path.name}",
                        panel.get("title", ""),
                        t.get("refId", ""),
                        text,
                        bool(t.get("instant")) and not t.get("range"),
                        panel["type"],
                    )
                )
    return out


def variables(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(dashboard file, variable) for every query variable."""
    return [
        (f"{kind}/{path.name}", var)
        for path in dashboard_files(kind)
        for var in load(path).get("templating", {}).get("list", [])
        if var.get("type") == "query"
    ]


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace $name and ${name} as Grafana does before sending a query; longest names first."""
    for name in sorted(values, key=len, reverse=True):
        text = text.replace("${" + name + "}", values[name])
        text = re.sub(
            r"\$" + re.escape(name) + r"(?![A-Za-z0-9_])", lambda _m, n=name: values[n], text
        )
    left = re.findall(r"\$\{?[A-Za-z_]\w*", text)
    assert not left, f"unsubstituted Grafana variables {left} in {text!r}"
    return text


def regex_options(regex: str, lines: list[str]) -> list[tuple[str, str]]:
    """Apply a Grafana variable regex (/.../ with named text/value groups) to metric lines."""
    body = regex.strip("/")
    pattern = re.compile(body.replace("(?<", "(?P<"))
    out = []
    for line in lines:
        m = pattern.search(line)
        if m:
            groups = m.groupdict()
            value = groups.get("value") or m.group(1 if m.groups() else 0)
            out.append((groups.get("text") or value, value))
    return out


def promql_metrics(expr: str) -> set[str]:
    """Metric names a PromQL expression reads (label names and functions left out)."""
    expr = re.sub(r'"[^"]*"', '""', expr)  # label values are not metric names
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    names = set(re.findall(r"(?<![\w:])([a-zA-Z_:][\w:]*)\s*(?=\{|\)|\s|$|\*|/|-|\+)", expr))
    keywords = {
        "sum", "avg", "max", "min", "count", "topk", "by", "without", "on", "ignoring",
        "group_left", "group_right", "or", "and", "unless", "rate", "increase", "bool",
        "avg_over_time", "histogram_quantile", "time", "label_values", "query_result",
        "label_replace",
        "le", "village_name", "district_name", "status", "collector", "reason", "device",
        "interface", "scope", "village", "district", "notifier", "job", "ssid", "band",
    }  # fmt: skip
    return {n for n in names if n not in keywords and not n.isdigit()}
