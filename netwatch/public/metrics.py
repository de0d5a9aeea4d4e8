"""The board's metrics on the admin listener: complaints per village, and the board's health."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry

if TYPE_CHECKING:
    from netwatch.public.board import PublicBoard


class BoardMetrics:
    """A custom collector over a PublicBoard, read at scrape time."""

    def __init__(self, board: PublicBoard) -> None:
        self.board = board

    def collect(self) -> Iterator[Metric]:
        b = self.board
        received = CounterMetricFamily(
            "netwatch_complaints_received",
            "Complaints residents sent through the public board, by village.",
            labels=["village", "district"],
        )
        open_ = GaugeMetricFamily(
            "netwatch_complaints_open",
            "Complaints not yet closed (netwatch complaints close), by village.",
            labels=["village", "district"],
        )
        store_up = GaugeMetricFamily(
            "netwatch_complaints_store_up",
            "1 if the complaint store can be read, 0 if not (complaints are refused).",
        )
        totals: dict[str, tuple[str, int, int]] = {}
        ok = b.store is not None
        if b.store is not None:
            try:
                totals = b.store.totals()
            except Exception:
                ok = False
        store_up.add_metric([], 1.0 if ok else 0.0)
        inventory = b.runtime.inventory
        for code, village in inventory.villages.items():
            _, n, o = totals.get(code, (village.district, 0, 0))
            received.add_metric([code, village.district], float(n))
            open_.add_metric([code, village.district], float(o))
        yield from (received, open_, store_up)

        up = GaugeMetricFamily(
            "netwatch_public_up", "1 while the public board's process serves a current view."
        )
        up.add_metric([], 1.0 if b.up else 0.0)
        age = GaugeMetricFamily(
            "netwatch_public_view_age_seconds",
            "Seconds since the public board's process last got a changed view.",
        )
        if b.last_view_at:
            age.add_metric([], max(0.0, time.time() - b.last_view_at))
        build = GaugeMetricFamily(
            "netwatch_public_view_build_seconds", "Time the last public view build and send took."
        )
        build.add_metric([], b.build_seconds)
        restarts = CounterMetricFamily(
            "netwatch_public_restarts", "Times the public board's process was started again."
        )
        restarts.add_metric([], float(b.restarts))
        errors = CounterMetricFamily(
            "netwatch_public_view_errors", "Public view builds that failed."
        )
        errors.add_metric([], float(b.build_errors))
        requests = CounterMetricFamily(
            "netwatch_public_requests",
            "Requests to the public listener, by page kind and status class.",
            labels=["page", "status"],
        )
        rejected = CounterMetricFamily(
            "netwatch_public_complaints_rejected",
            "Complaint submissions refused, by reason (rate, token, fast, honeypot, invalid, "
            "too_long, size, store).",
            labels=["reason"],
        )
        accepted = CounterMetricFamily(
            "netwatch_public_complaints_accepted", "Complaint submissions stored."
        )
        cache = CounterMetricFamily(
            "netwatch_public_cache",
            "Public responses served from the cache (hits) and rendered (renders).",
            labels=["result"],
        )
        for key, value in sorted(b.stats.items()):
            if key[0] == "request":
                requests.add_metric([key[1], key[2]], float(value))
            elif key[0] == "rejected":
                rejected.add_metric([key[1]], float(value))
            elif key[0] == "cache":
                cache.add_metric([key[1]], float(value))
        accepted.add_metric([], float(b.stats.get(("accepted",), 0)))
        yield from (up, age, build, restarts, errors, requests, rejected, accepted, cache)


def register(board: PublicBoard, registry: CollectorRegistry | None = None) -> Callable[[], None]:
    """Serve the board's metrics from registry (default telemetry.REGISTRY); returns undo."""
    if registry is None:
        from netwatch.core.telemetry import REGISTRY

        registry = REGISTRY
    collector = BoardMetrics(board)
    registry.register(collector)
    return lambda: registry.unregister(collector)
