"""Service probes through the whole path: scheduler → state → village rollup, /metrics,
InfluxDB points and the status page, with a real portal (aiohttp) and a real DNS (dnsmasq).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

from prometheus_client.parser import text_string_to_metric_families

from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.collectors.registry import COLLECTORS
from netwatch.collectors.service.collector import ServiceCollector
from netwatch.core.model import InfluxSettings, Inventory, Role
from netwatch.core.scheduler import Scheduler
from netwatch.core.services import DnsCheck, HttpCheck, ServiceProbe, ServiceSettings
from netwatch.core.state import State, VillageStatus
from netwatch.exporters.influxdb.exporter import InfluxExporter
from netwatch.exporters.prometheus import Exposition, inventory_families
from netwatch.web.status_page import render, villages_json
from tests.collectors.service.servers import NOT_AFTER, portal_servers
from tests.core.inventories import make_inventory
from tests.helpers.dnsmasq import dnsmasq
from tests.helpers.lineproto import parse

V = "35.10.07.2001"


def inventory(http_port: int, https_port: int, dns_port: int, cert: str) -> Inventory:
    inv = make_inventory({V: [("r", Role.ROUTER, "127.0.0.1"), ("ap", Role.AP, "127.0.0.2")]})
    probes = (
        ServiceProbe("portal", http=HttpCheck(f"http://127.0.0.1:{http_port}/login")),
        ServiceProbe(
            "portal-tls", http=HttpCheck(f"https://127.0.0.1:{https_port}/login", ca_file=cert)
        ),
        ServiceProbe("dns", dns=DnsCheck("portal.desa.test", port=dns_port)),
    )
    village = dataclasses.replace(inv.villages[V], services=probes)
    settings = dataclasses.replace(inv.settings, services=ServiceSettings(interval=0.3))
    return dataclasses.replace(inv, villages={V: village}, settings=settings)


class Lines(list[str]):
    """Stands in for the exporter's Writer: keeps the lines."""

    def add_many(self, lines) -> None:
        self.extend(lines)


def ping_up(state: State, t: float) -> None:
    for name in ("r", "ap"):
        result = PingResult("127.0.0.1", 5, 5, [0.001] * 5)
        state.record(PingObservation(name, t, result, 1.0))


def scrape(state: State) -> dict[tuple[str, str, str], float]:
    text = Exposition(state, [inventory_families, *COLLECTORS]).render().decode()
    return {
        (s.name, s.labels.get("device", ""), s.labels.get("service", "")): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
        if s.name.startswith("netwatch_service")
    }


async def test_a_failing_portal_degrades_an_up_village(tmp_path):
    with dnsmasq([("portal.desa.test", "127.0.0.53")], local="desa.test") as dns_port:
        async with portal_servers(tmp_path) as portal:
            inv = inventory(portal.http_port, portal.https_port, dns_port, str(portal.cert))
            state = State(inv)
            cfg = InfluxSettings(url="http://127.0.0.1:9", bucket="b", spool_dir=str(tmp_path))
            exporter = InfluxExporter(cfg, state)  # its listener, with a writer that keeps lines
            exporter.writer = points = Lines()  # type: ignore[assignment]
            state.add_listener(exporter.on_observation)
            ping_up(state, time.time())
            collector = ServiceCollector(lambda: inv)
            # The village's probes run with its router's job, not the AP's.
            assert collector.applies(inv.devices["r"]) and not collector.applies(inv.devices["ap"])
            scheduler = Scheduler([collector], state.record)
            scheduler.start(inv)
            try:
                await _until(lambda: state.devices["r"].parts.get("service") is not None)
                assert state.village_status(V) is VillageStatus.UP
                metrics = scrape(state)
                assert metrics[("netwatch_service_probe_success", "r", "portal")] == 1
                assert metrics[("netwatch_service_probe_success", "r", "dns")] == 1
                assert metrics[("netwatch_service_http_status_code", "r", "portal")] == 200
                assert (
                    metrics[
                        ("netwatch_service_tls_cert_not_after_timestamp_seconds", "r", "portal-tls")
                    ]
                    == NOT_AFTER.timestamp()
                )
                assert metrics[("netwatch_service_dns_rcode", "r", "dns")] == 0
                assert metrics[("netwatch_service_dns_answers", "r", "dns")] == 1

                portal.status = 503  # the portal breaks; ping and DNS still answer
                await _until(lambda: state.village_status(V) is VillageStatus.DEGRADED)
                (row,) = villages_json(state)
                assert [(d["device"], d["reason"]) for d in row["down_devices"]] == [
                    ("r", "service failed: portal, portal-tls")
                ]
                assert "r: layanan gagal: portal, portal-tls" in render(state, "id")
                metrics = scrape(state)
                assert metrics[("netwatch_service_probe_success", "r", "portal")] == 0
                assert metrics[("netwatch_service_http_status_code", "r", "portal")] == 503
                assert metrics[("netwatch_service_probe_failures_total", "r", "portal")] >= 1
                assert metrics[("netwatch_service_probe_success", "r", "dns")] == 1
            finally:
                await scheduler.shutdown()
            # A router that stops answering ping is down whatever its services say.
            state.record(PingObservation("r", time.time(), PingResult("127.0.0.1", 5, 0), 1.0))
            assert state.village_status(V) is VillageStatus.DOWN
    lines = [p for p in parse("\n".join(points)) if p.measurement == "netwatch_service"]
    failed = [p for p in lines if p.tags["service"] == "portal" and p.fields["success"] == 0]
    assert failed and failed[-1].fields["http_status"] == 503
    assert failed[-1].tags["village"] == V and failed[-1].tags["protocol"] == "http"
    dns_ok = [p for p in lines if p.tags["service"] == "dns"]
    assert dns_ok and dns_ok[-1].fields["dns_rcode"] == 0 and dns_ok[-1].fields["success"] == 1


async def _until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)
