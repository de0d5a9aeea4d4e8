"""Self-metrics of notification delivery (label `notifier` has four values)."""

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
