"""One round to one device (blackbox_exporter's prober shape) and the scheduler's view of it."""

from __future__ import annotations

import time
from collections.abc import Callable

from netwatch.collectors.icmp.engine import Pinger
from netwatch.collectors.icmp.observation import PingObservation
from netwatch.core.model import Device, Inventory, PingSettings
from netwatch.core.plugins import Context


async def probe(device: Device, settings: PingSettings, pinger: Pinger) -> PingObservation:
    """Ping one device once with the configured round."""
    started = time.time()
    t0 = time.monotonic()
    result = await pinger.ping(
        device.address,
        count=settings.count,
        spacing=settings.spacing,
        timeout=settings.timeout,
        size=settings.size,
    )
    return PingObservation(device.name, started, result, time.monotonic() - t0)


class IcmpCollector:
    """Which devices are pinged, how often, and one round; owns the shared Pinger."""

    name = "ping"

    def __init__(
        self, inventory: Callable[[], Inventory], pinger: Pinger, undo: Callable[[], None]
    ) -> None:
        self._inventory = inventory
        self.pinger = pinger
        self._undo = undo  # unregisters the socket self-metrics

    def applies(self, device: Device) -> bool:
        return device.ping

    def interval(self, device: Device) -> float:
        return device.ping_interval or self._inventory().settings.ping.interval

    async def collect(self, device: Device) -> PingObservation:
        return await probe(device, self._inventory().settings.ping, self.pinger)

    async def close(self) -> None:
        self._undo()
        self.pinger.close()


async def start(ctx: Context) -> IcmpCollector:
    """Open the shared sockets (IcmpUnavailable without the privilege) and their self-metrics."""
    from netwatch.collectors.icmp import self_metrics

    pinger = await Pinger.create()
    return IcmpCollector(ctx.inventory, pinger, self_metrics.register(pinger))
