"""A raw InfluxQL target for Grafana's InfluxDB datasource (the SDK has no InfluxDB query)."""

from __future__ import annotations

from typing import Any, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants

from dashboards.generator.common import INFLUX_DS


class InfluxQLQuery(cogvariants.Dataquery):
    """Grafana's InfluxDB (InfluxQL) query model in raw mode."""

    def __init__(
        self, query: str, ref_id: str = "A", result_format: str = "time_series", alias: str = ""
    ) -> None:
        self.query = query
        self.ref_id = ref_id
        self.result_format = result_format
        self.alias = alias

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "datasource": INFLUX_DS.to_json(),
            "query": self.query,
            "rawQuery": True,
            "refId": self.ref_id,
            "resultFormat": self.result_format,
        }
        if self.alias:
            out["alias"] = self.alias
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        return cls(
            str(data["query"]),
            str(data.get("refId", "A")),
            str(data.get("resultFormat", "time_series")),
            str(data.get("alias", "")),
        )


class InfluxQL(cogbuilder.Builder[InfluxQLQuery]):
    def __init__(
        self, query: str, ref_id: str = "A", *, table: bool = False, alias: str = ""
    ) -> None:
        self._internal = InfluxQLQuery(query, ref_id, "table" if table else "time_series", alias)

    def build(self) -> InfluxQLQuery:
        return self._internal


def register_dataquery() -> None:
    """Let the SDK decode InfluxDB targets as InfluxQLQuery (a schema check on the round trip)."""
    cogruntime.register_dataquery_variant(
        cogruntime.DataqueryConfig(identifier="influxdb", from_json_hook=InfluxQLQuery.from_json)
    )
