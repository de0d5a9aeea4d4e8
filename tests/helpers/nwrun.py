"""`netwatch run` for whole-stack tests, completed with parts the runtime may not wire yet.

python -m tests.helpers.nwrun CONFIG [LISTEN]: runs netwatch.commands.run.serve (the real `netwatch
run`) but, after Runtime.start, attaches the InfluxDB exporter when settings.influxdb is set and
the runtime attached none, and adds the SNMP collector and its metric source when missing. Once
the runtime wires them itself, this adds nothing.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any


def _attached_influx(runtime: Any) -> bool:
    from netwatch.exporters.influxdb.exporter import InfluxExporter

    stops = getattr(runtime, "_extra_stops", [])
    owners = [getattr(s, "__self__", None) for s in stops] + list(vars(runtime).values())
    return any(isinstance(o, InfluxExporter) for o in owners)


def patch() -> None:
    from netwatch.exporters import prometheus

    from netwatch import runtime as rt

    original_start = rt.Runtime.start
    original_collectors = rt.Runtime.collectors

    def collectors(self: Any) -> list[Any]:
        chosen = list(original_collectors(self))
        if not any(c.name == "snmp" for c in chosen):
            from netwatch.collectors.snmp.collector import SnmpCollector
            from netwatch.collectors.snmp.engine import SnmpEngine

            engine = SnmpEngine()
            self.on_stop(engine.close)
            chosen.append(SnmpCollector(lambda: self.inventory, engine))
        return chosen

    async def start(self: Any) -> None:
        await original_start(self)
        if self.inventory.settings.influxdb is not None and not _attached_influx(self):
            from netwatch.exporters.influxdb.hook import attach

            await attach(self)

    rt.Runtime.collectors = collectors  # type: ignore[method-assign]
    rt.Runtime.start = start  # type: ignore[method-assign]
    from netwatch.exporters import prometheus_snmp

    if prometheus_snmp.families not in prometheus.DEFAULT_SOURCES:
        prometheus.DEFAULT_SOURCES = (*prometheus.DEFAULT_SOURCES, prometheus_snmp.families)


def main(argv: list[str]) -> int:
    from netwatch.commands.run import serve, setup_logging

    setup_logging("warning")
    patch()
    return asyncio.run(serve(argv[0], argv[1] if len(argv) > 1 else None))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
