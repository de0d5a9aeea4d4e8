"""Leave the host network namespace, then write to a server on the host's loopback.

Usage: python -m tests.exporters.influxdb.child_hostnet URL SPOOL MODE T0
"""

from __future__ import annotations

import asyncio
import socket
import sys
from urllib.parse import urlsplit

from netwatch.core.model import InfluxSettings
from netwatch.core.state import State
from netwatch.demo.hostnet import HostNetwork
from netwatch.demo.sandbox import enter_private_network
from netwatch.exporters.influxdb.exporter import InfluxExporter
from tests.exporters.influxdb import sample


async def main(url: str, spool: str, mode: str, t0: float, host: HostNetwork) -> None:
    state = State(sample.inventory())
    cfg = InfluxSettings(
        url=url, bucket="netwatch", mode=mode, spool_dir=spool, flush_interval=0.05,
        retry_initial=0.05, snapshot_interval=3600.0,
    )  # fmt: skip
    exporter = InfluxExporter(cfg, state, socket_factory=host.socket_factory)
    await exporter.start()
    assert exporter.writer is not None
    state.record(sample.ping("ap 1", t0, [0.004]))
    ok = await exporter.writer.flush(10.0)
    await exporter.stop()
    print("delivered" if ok else "not delivered", flush=True)


if __name__ == "__main__":
    url, spool, mode, t0 = sys.argv[1:5]
    host = HostNetwork.capture()
    enter_private_network()
    port = urlsplit(url).port
    try:  # proof that this process no longer sees the host's loopback
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        print("host loopback reachable without HostNetwork", flush=True)
        sys.exit(3)
    except OSError:
        pass
    asyncio.run(main(url, spool, mode, float(t0), host))
    host.close()
