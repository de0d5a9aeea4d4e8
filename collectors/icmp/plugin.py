"""The ICMP collector as netwatch sees it: one Plugin, registered on import."""

from __future__ import annotations

from netwatch.collectors.icmp import probe, samples, state
from netwatch.collectors.icmp.observation import PingObservation
from netwatch.core.plugins import Plugin, register

PLUGIN = Plugin(
    name="ping",
    observation=PingObservation,
    new_part=state.IcmpDeviceState,
    record=state.record,
    samples=samples.samples,
    families=samples.FAMILIES,
    start=probe.start,
    state_values=samples.state_values,
)
register(PLUGIN)
