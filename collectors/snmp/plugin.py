"""The SNMP collector as netwatch sees it: one Plugin, registered on import."""

from __future__ import annotations

from netwatch.collectors.snmp import samples, state
from netwatch.collectors.snmp.observation import SnmpObservation
from netwatch.core.plugins import Context, Plugin, RunningCollector, register


async def _start(ctx: Context) -> RunningCollector:
    from netwatch.collectors.snmp.collector import start  # the engine loads only when run

    return await start(ctx)


PLUGIN = Plugin(
    name="snmp",
    observation=SnmpObservation,
    new_part=state.SnmpDeviceState,
    record=state.record,
    samples=samples.samples,
    families=samples.FAMILIES,
    start=_start,
)
register(PLUGIN)
