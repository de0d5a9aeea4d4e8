"""Run an InfluxExporter in its own process (the kill -9 test kills it).

Usage: python -m tests.exporters.influxdb.child_writer URL SPOOL START COUNT T0 finish|hang
Prints "durable N" once ping rounds up to N are in the spool.
"""

from __future__ import annotations

import asyncio
import sys

from netwatch.core.model import InfluxSettings
from netwatch.core.state import State
from netwatch.exporters.influxdb.exporter import InfluxExporter
from tests.exporters.influxdb import sample

BATCH = 100


async def main(url: str, spool: str, start: int, count: int, t0: float, finish: bool) -> None:
    state = State(sample.inventory())
    cfg = InfluxSettings(
        url=url,
        bucket="netwatch",
        batch_size=BATCH,
        flush_interval=0.02,
        retry_initial=0.05,
        retry_max=0.2,
        spool_dir=spool,
        snapshot_interval=3600.0,
    )
    exporter = InfluxExporter(cfg, state)
    await exporter.start()
    assert exporter.writer is not None
    for i in range(start, start + count):
        for name in state.devices:
            state.record(sample.ping(name, t0 + i / 1000, [0.002]))
        if i % 10 == 9:
            exporter.writer.flush_pending()
            print(f"durable {i}", flush=True)
            await asyncio.sleep(0.004)
    if finish:
        ok = await exporter.writer.flush(30.0)
        await exporter.stop()
        print("done" if ok else "not drained", flush=True)
    else:
        await asyncio.sleep(600)  # until killed


if __name__ == "__main__":
    url, spool, start, count, t0, mode = sys.argv[1:7]
    asyncio.run(main(url, spool, int(start), int(count), float(t0), mode == "finish"))
