"""Write every dashboard as JSON: `python -m dashboards.generator [--check]` from the repo root."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard as DashboardModel

from dashboards.generator import (
    influx_overview,
    influx_village,
    prom_device,
    prom_netwatch,
    prom_overview,
    prom_village,
)
from dashboards.generator.influxql import register_dataquery

ROOT = Path(__file__).resolve().parent.parent

# Output file (relative to dashboards/) → builder.
DASHBOARDS: dict[str, Callable[[], dash.Dashboard]] = {
    "prometheus/overview.json": prom_overview.build,
    "prometheus/village.json": prom_village.build,
    "prometheus/device.json": prom_device.build,
    "prometheus/netwatch.json": prom_netwatch.build,
    "influxdb/overview.json": influx_overview.build,
    "influxdb/village.json": influx_village.build,
}


def layout(panels: list[dict[str, Any]]) -> None:
    """Ids, and each panel at the highest free spot of Grafana's 24-column grid (leftmost on a
    tie), as Grafana's own gravity would settle it; a row spans the width below everything."""
    heights = [0] * 24
    for n, panel in enumerate(panels, 1):
        panel["id"] = n
        if panel.get("options") is None and panel["type"] != "row":
            panel["options"] = {}  # the schema round trip in render() fills the defaults
        pos = panel["gridPos"]
        w, h = min(pos["w"], 24), pos["h"]
        if panel["type"] == "row":
            x, w, y = 0, 24, max(heights)
        else:
            x, y = min(
                ((x, max(heights[x : x + w])) for x in range(25 - w)), key=lambda c: (c[1], c[0])
            )
        pos.update(x=x, y=y, w=w)
        heights[x : x + w] = [y + h] * w
        if panel["type"] == "row":
            heights = [y + h] * 24


def canonical(model: dict[str, Any]) -> dict[str, Any]:
    """The dashboard decoded into the SDK's schema types and encoded again (defaults filled)."""
    register_default_plugins()
    register_dataquery()
    return json.loads(JSONEncoder(sort_keys=True).encode(DashboardModel.from_json(model)))


def render(builder: Callable[[], dash.Dashboard]) -> str:
    """The dashboard as stable JSON text (sorted keys, one trailing newline)."""
    model = json.loads(JSONEncoder(sort_keys=True).encode(builder().build()))
    layout(model["panels"])
    return json.dumps(canonical(model), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for rel, builder in DASHBOARDS.items():
        path = ROOT / rel
        text = render(builder)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote dashboards/{rel}")
    if stale:
        print("out of date (run python -m dashboards.generator): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
