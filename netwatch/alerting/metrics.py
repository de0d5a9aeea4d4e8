"""Self-metrics of notification delivery (label `notifier` has four values) and of traceroutes."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from netwatch.core.telemetry import REGISTRY

SENT = Counter(
    "netwatch_notifications_sent_total",
    "Notifications delivered, by notifier.",
    ["notifier"],
    registry=REGISTRY,
)
FAILED = Counter(
    "netwatch_notification_attempts_failed_total",
    "Delivery attempts that failed (each will be retried unless dropped), by notifier.",
    ["notifier"],
    registry=REGISTRY,
)
DROPPED = Counter(
    "netwatch_notifications_dropped_total",
    "Notifications given up: reason expired (older than max_age) or rejected by the receiver.",
    ["notifier", "reason"],
    registry=REGISTRY,
)
PENDING = Gauge(
    "netwatch_notification_outbox_pending",
    "Notifications waiting in the outbox (one per receiver).",
    registry=REGISTRY,
)
OLDEST = Gauge(
    "netwatch_notification_outbox_oldest_pending_age_seconds",
    "Age of the oldest undelivered notification; 0 when the outbox is empty.",
    registry=REGISTRY,
)
REPOSTS = Counter(
    "netwatch_alertmanager_reposts_total",
    "Re-posts of firing alerts to Alertmanager, by result (ok, error).",
    ["result"],
    registry=REGISTRY,
)
TOLD_BY_PEER = Counter(
    "netwatch_notifications_told_by_peer_total",
    "Notifications not sent because another replica already told the receiver (cluster with "
    "etcd), by notifier.",
    ["notifier"],
    registry=REGISTRY,
)
HELD = Gauge(
    "netwatch_notification_outbox_held",
    "Notifications held because this replica does not hold its shard's sender lease (cluster "
    "with etcd): sent by the lease holder, or by this replica once it holds the lease.",
    registry=REGISTRY,
)
TRACES = Counter(
    "netwatch_traceroutes_total",
    "Traceroutes run by the trace worker processes, by result: done, failed (the trace raised, "
    "or its worker died or hung).",
    ["result"],
    registry=REGISTRY,
)
TRACES_SKIPPED = Counter(
    "netwatch_traceroutes_skipped_total",
    "Traceroutes not run, by reason: rate (alerting.traceroute_per_minute reached), loop_lag "
    "(the event loop ran late), icmp_drops (an ICMP socket dropped replies), queue_full.",
    ["reason"],
    registry=REGISTRY,
)
TRACE_WORKERS = Gauge(
    "netwatch_traceroute_workers",
    "Trace worker processes running and ready (started with the alert engine).",
    registry=REGISTRY,
)
TRACE_WORKERS_REPLACED = Counter(
    "netwatch_traceroute_workers_replaced_total",
    "Trace worker processes replaced, by reason: died, timeout (killed: no answer in time), "
    "start_failed (could not start; retried with a growing delay).",
    ["reason"],
    registry=REGISTRY,
)
