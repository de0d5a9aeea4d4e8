"""The ICMP collector: the echo stream over every pinged device, and a one-round probe().

`netwatch run` follows the inventory with the stream (stream.py: steady echoes, a burst on a
lost echo, a verdict from the run); probe() is one round to one device in blackbox_exporter's
prober shape, for tools and tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from netwatch.collectors.icmp.engine import Pinger
from netwatch.collectors.icmp.observation import PingObservation
from netwatch.core.plugins import Context, Observation

if TYPE_CHECKING:  # `netwatch ping` imports this package: not the stream or the config model
    from netwatch.core.model import Device, Inventory, PingSettings


async def probe(device: Device, settings: PingSettings, pinger: Pinger) -> PingObservation:
    """Ping one device once: count echoes spacing apart (state: up if any was answered)."""
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
    """Pings the inventory's devices through one echo stream; owns the shared Pinger."""

    name = "ping"

    def __init__(
        self, inventory: Callable[[], Inventory], pinger: Pinger, undo: Callable[[], None]
    ) -> None:
        self._inventory = inventory
        self.pinger = pinger
        self._undo = undo  # unregisters the socket self-metrics
        from netwatch.collectors.icmp.stream import EchoStream

        self.stream = EchoStream(pinger, lambda obs: None)

    def follow(self, inventory: Inventory, sink: Callable[[Observation], None]) -> int:
        """Probe inventory's pinged devices from now on; how many."""
        self.stream.follow(inventory, sink)
        return len(self.stream.probes)

    def request(self, device: str, reason: str) -> bool:
        return self.stream.request(device, reason)

    def unfollow(self) -> None:
        self.stream.stop()

    # The Collector shape (applies/interval/collect): one round, as probe().
    def applies(self, device: Device) -> bool:
        return device.ping

    def interval(self, device: Device) -> float:
        return device.ping_interval or self._inventory().settings.ping.interval

    async def collect(self, device: Device) -> PingObservation:
        return await probe(device, self._inventory().settings.ping, self.pinger)

    async def close(self) -> None:
        self.stream.stop()
        self._undo()
        self.pinger.close()


async def start(ctx: Context) -> IcmpCollector:
    """Open the shared sockets (IcmpUnavailable without the privilege) and their self-metrics."""
    from netwatch.collectors.icmp import self_metrics

    pinger = await Pinger.create()
    return IcmpCollector(ctx.inventory, pinger, self_metrics.register(pinger))
