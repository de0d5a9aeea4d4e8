"""Self-metrics of the shared ICMP sockets, read from the Pinger at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

from netwatch.collectors.icmp.engine import Pinger


class IcmpMetrics:
    """A prometheus_client custom collector over one Pinger (labels: family, mode: bounded)."""

    def __init__(self, pinger: Pinger) -> None:
        self.pinger = pinger

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "netwatch_icmp_socket_info",
            "Open shared ICMP sockets: mode raw (CAP_NET_RAW) or dgram (ping_group_range).",
            labels=["family", "mode"],
        )
        outstanding = GaugeMetricFamily(
            "netwatch_icmp_outstanding_echoes",
            "Echo requests sent and still waiting for their reply or timeout.",
            labels=["family"],
        )
        late = CounterMetricFamily(
            "netwatch_icmp_late_replies",
            "Replies that came after their echo's timeout (counted as lost).",
            labels=["family"],
        )
        unmatched = CounterMetricFamily(
            "netwatch_icmp_unmatched_replies",
            "Replies with our identifier matching no outstanding echo, host or payload serial.",
            labels=["family"],
        )
        errors = CounterMetricFamily(
            "netwatch_icmp_send_errors",
            "Echo requests the kernel refused to send (no route, firewall...).",
            labels=["family"],
        )
        for s in self.pinger.stats():
            fam = s["family"]
            info.add_metric([fam, s["mode"]], 1)
            outstanding.add_metric([fam], float(s["outstanding"]))
            late.add_metric([fam], float(s["late_replies"]))
            unmatched.add_metric([fam], float(s["unmatched_replies"]))
            errors.add_metric([fam], float(s["send_errors"]))
        yield from (info, outstanding, late, unmatched, errors)


def register(pinger: Pinger, registry: CollectorRegistry | None = None) -> Callable[[], None]:
    """Serve pinger's self-metrics from registry (default: telemetry.REGISTRY); returns undo."""
    if registry is None:
        from netwatch.core.telemetry import REGISTRY

        registry = REGISTRY
    collector = IcmpMetrics(pinger)
    registry.register(collector)
    return lambda: registry.unregister(collector)
