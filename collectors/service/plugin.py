"""The service-probe collector as netwatch sees it: one Plugin, registered on import."""

from __future__ import annotations

from netwatch.collectors.service import samples, state
from netwatch.collectors.service.observation import ServiceObservation
from netwatch.core.plugins import Context, Plugin, RunningCollector, register


async def _start(ctx: Context) -> RunningCollector:
    from netwatch.collectors.service.collector import start  # dnspython loads only when run

    return await start(ctx)


PLUGIN = Plugin(
    name="service",
    observation=ServiceObservation,
    new_part=state.ServiceDeviceState,
    record=state.record,
    samples=samples.samples,
    families=samples.FAMILIES,
    start=_start,
)
register(PLUGIN)
