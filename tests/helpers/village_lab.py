"""A simulated district in test namespaces, monitored by a real scheduler, pinger and alerting.

    core ── pop (district POP router) ─┬─ r1 (village 1 router) ── a1 (its AP)
                                       └─ r2 ...                ── a2

Every box is a namespace on 127.x veth links (tests/helpers/netns.py). The monitoring side
(pinger, traceroute) lives in `core`; the HTTP/SMTP receivers stay on the host's loopback.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from netwatch.alerting.service import AlertService
from netwatch.core.model import AlertingSettings, Inventory, PingSettings
from netwatch.core.notifications import NotificationSettings
from netwatch.core.scheduler import Scheduler
from netwatch.core.state import State
from tests.helpers import regency
from tests.helpers.netns import Link, Namespace, Netlab

FORWARD = (("net.ipv4.ip_forward", "1"),)


@dataclass
class District:
    lab: Netlab
    villages: int
    core: Namespace = field(init=False)
    uplink: Link = field(init=False)
    village_links: dict[int, Link] = field(default_factory=dict)  # pop ↔ router v
    ap_links: dict[int, Link] = field(default_factory=dict)  # router v ↔ AP v
    routes: list[tuple[Namespace, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        lab = self.lab
        self.core = lab.add("core")
        pop = lab.add("pop", sysctls=FORWARD)
        self.uplink = lab.link(self.core, "127.100.0.1", pop, "127.100.0.2")
        self._route(self.core, "127.101.0.0/16", "127.100.0.2")
        self._route(self.core, "127.102.0.0/16", "127.100.0.2")
        for v in range(1, self.villages + 1):
            r = lab.add(f"r{v}", sysctls=FORWARD)
            a = lab.add(f"a{v}")
            self.village_links[v] = lab.link(pop, f"127.101.{v}.1", r, f"127.101.{v}.2")
            self.ap_links[v] = lab.link(r, f"127.102.{v}.1", a, f"127.102.{v}.2")
            self._route(pop, f"127.102.{v}.0/24", f"127.101.{v}.2")
            self._route(r, "127.100.0.0/24", f"127.101.{v}.1")
            self._route(a, "127.100.0.0/24", f"127.102.{v}.1")

    def _route(self, ns: Namespace, destination: str, via: str) -> None:
        self.routes.append((ns, destination, via))
        ns.run("ip", "route", "replace", destination, "via", via)

    def restore(self, link: Link) -> None:
        """Bring a cut link back, with the static routes the kernel dropped when it went down."""
        link.set_up(True)
        for ns, destination, via in self.routes:
            ns.run("ip", "route", "replace", destination, "via", via)

    @staticmethod
    def address(n: int) -> str:
        """Address of the n-th device of regency.build's order: pop, then (router, AP) pairs."""
        if n == 1:
            return "127.100.0.2"
        v = n // 2
        return f"127.101.{v}.2" if n % 2 == 0 else f"127.102.{v}.2"

    def inventory(
        self, alerting: AlertingSettings, ping: PingSettings, notifications: NotificationSettings
    ) -> Inventory:
        return regency.build(
            districts=1,
            villages=self.villages,
            aps=1,
            settings=alerting,
            address_of=self.address,
            ping=ping,
            notifications=notifications,
        )

    def loss(self, percent: int) -> None:
        """Drop percent% of ICMP packets entering every box but core (both directions)."""
        rules = (
            "table inet nwloss {\n chain pre {\n  type filter hook prerouting priority 0;\n"
            f"  meta l4proto icmp numgen random mod 100 < {percent} drop\n }}\n}}\n"
        )
        for key, ns in self.lab.namespaces.items():
            if key != "core":
                ns.nft(rules)


def ping_collector(pinger: object, inventory: Inventory) -> object:
    """The ICMP collector as netwatch.core.runtime starts it (its echo stream), on pinger."""
    from netwatch.collectors.icmp import IcmpCollector

    return IcmpCollector(lambda: inventory, pinger, lambda: None)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def monitoring(
    district: District, inventory: Inventory, traceroute: bool = True, state: State | None = None
) -> AsyncIterator[AlertService]:
    """Scheduler + pinger (in core) + alert service running on inventory until exit."""
    from netwatch.alerting.trace_pool import WORKER, TracePool
    from netwatch.collectors.icmp import Pinger

    pinger = district.core.call(Pinger.open)
    state = state if state is not None else State(inventory)
    scheduler = Scheduler([ping_collector(pinger, inventory)], state.record)  # type: ignore[list-item]
    s = inventory.settings.alerting
    # The trace workers run in core, as the pinger: `ip netns exec` before the worker's command.
    tracer = TracePool(
        s.traceroute_workers, s.traceroute_max_hops, s.traceroute_timeout,
        command=district.core.argv(*WORKER),
    )  # fmt: skip
    service = AlertService.create(
        inventory, state, scheduler.request_poll, tracer=tracer if traceroute else None
    )
    try:
        scheduler.start(inventory)
        await service.start()
        yield service
    finally:
        await scheduler.shutdown()
        await service.stop()
        pinger.close()
