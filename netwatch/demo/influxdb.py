"""`netwatch demo --influxdb URL`: push the demo's data to a local InfluxDB or VictoriaMetrics."""

from __future__ import annotations

import dataclasses
import os

from netwatch.core.model import InfluxSettings, Inventory, SecretRef

TOKEN_ENV = "NETWATCH_INFLUX_TOKEN"


def with_influxdb(
    inventory: Inventory, url: str, bucket: str, org: str, spool_dir: str
) -> Inventory:
    """The inventory with an influxdb section: v2 write API, token from $NETWATCH_INFLUX_TOKEN."""
    cfg = InfluxSettings(
        url=url,
        bucket=bucket,
        org=org,
        token=SecretRef(env=TOKEN_ENV) if os.environ.get(TOKEN_ENV) else None,
        spool_dir=spool_dir,
        flush_interval=1.0,
        retry_max=10.0,
    )
    settings = dataclasses.replace(inventory.settings, influxdb=cfg)
    return dataclasses.replace(inventory, settings=settings)
