"""The scheduler's view of service probes: which devices, how often, and one round of probes.

A device's job runs its own probes and, on the village's router, the village's probes, all at
once; each probe is bounded by its timeout, so a round never outlives the longest timeout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from netwatch.collectors.service.dns import probe_dns
from netwatch.collectors.service.http import probe_http
from netwatch.collectors.service.observation import ProbeResult, ServiceObservation
from netwatch.collectors.service.tcp import probe_tcp
from netwatch.core import telemetry
from netwatch.core.model import Device, Inventory
from netwatch.core.plugins import Context
from netwatch.core.services import ServiceProbe

log = logging.getLogger(__name__)


async def run_probe(probe: ServiceProbe, device: Device, default_timeout: float) -> ProbeResult:
    """One probe; its own timeout, else the default; never raises."""
    timeout = probe.timeout or default_timeout
    try:
        if probe.tcp is not None:
            return await probe_tcp(probe.name, probe.tcp, device.address, timeout)
        if probe.http is not None:
            return await probe_http(probe.name, probe.http, timeout)
        if probe.dns is not None:
            return await probe_dns(probe.name, probe.dns, device.address, timeout)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug in a prober must not stop the other probes
        log.exception("service probe %s of %s failed", probe.name, device.name)
        return ProbeResult(probe.name, probe.protocol, reason="error", message=repr(exc))
    return ProbeResult(probe.name, probe.protocol, reason="error", message="no check configured")


class ServiceCollector:
    name = "service"

    def __init__(self, inventory: Callable[[], Inventory]) -> None:
        self._inventory = inventory

    def applies(self, device: Device) -> bool:
        inv = self._inventory()
        return device.name in inv.devices and bool(inv.services_of(device.name))

    def interval(self, device: Device) -> float:
        return self._inventory().settings.services.interval

    async def collect(self, device: Device) -> ServiceObservation:
        inv = self._inventory()
        probes = inv.services_of(device.name) if device.name in inv.devices else ()
        started, t0 = time.time(), time.perf_counter()
        timeout = inv.settings.services.timeout
        results = await asyncio.gather(*(run_probe(p, device, timeout) for p in probes))
        for r in results:
            if not r.success:
                telemetry.POLL_ERRORS.labels(self.name, r.reason).inc()
        return ServiceObservation(device.name, started, time.perf_counter() - t0, list(results))

    async def close(self) -> None:
        return None


async def start(ctx: Context) -> ServiceCollector:
    return ServiceCollector(ctx.inventory)
