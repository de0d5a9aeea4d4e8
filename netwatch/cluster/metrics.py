"""The heartbeat and the cluster's shape, exported by every instance (docs/scaling.md).

Every instance exports the shard of every district of the config, not only its own: when
both replicas of a shard stop, the survivors still say which shard should exist and which
villages it holds, so a Prometheus rule can name them (rules/netwatch.rules.yml).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import Gauge
from prometheus_client.core import GaugeMetricFamily, Metric

from netwatch.cluster.member import Member
from netwatch.core import telemetry
from netwatch.core.model import Inventory
from netwatch.core.ticks import sleep_to_tick

if TYPE_CHECKING:
    from netwatch.cluster.sender import SenderLease

HEARTBEAT = Gauge(
    "netwatch_heartbeat_timestamp_seconds",
    "When the scheduler's event loop last beat (every second while it runs).",
    registry=telemetry.REGISTRY,
)
BEAT_INTERVAL = 1.0


async def beat() -> None:
    """Set the heartbeat every second until cancelled: a stuck loop stops it. It beats on the
    whole seconds of loop time (core/ticks.py), in a turn the loop makes for its other
    one-second timers and the echo stream's slots anyway, not in one of its own."""
    while True:
        HEARTBEAT.set(time.time())
        await sleep_to_tick(BEAT_INTERVAL)


def families(
    inventory: Inventory, member: Member, sender: SenderLease | None = None
) -> Iterable[Metric]:
    """The instance's own place, the whole config's shard plan, whether it sends."""
    cluster = inventory.settings.cluster
    info = GaugeMetricFamily(
        "netwatch_cluster_member_info",
        "The shard and replica this instance was told to be; always 1.",
        labels=["member_shard", "member_replica"],
    )
    info.add_metric([str(member.shard), member.replica or ""], 1)
    shards = GaugeMetricFamily(
        "netwatch_cluster_shards", "Shards the config splits the inventory into."
    )
    shards.add_metric([], cluster.shards)
    replicas = GaugeMetricFamily(
        "netwatch_cluster_replicas", "Replicas the config runs of each shard."
    )
    replicas.add_metric([], cluster.replicas)
    plan = GaugeMetricFamily(
        "netwatch_cluster_district_villages",
        "Villages of each district of the config, by the shard assigned to watch them.",
        labels=["assigned_shard", "district", "district_name", "regency", "regency_name"],
    )
    for a in inventory.assignment:
        regency = inventory.regency_of(a.district)
        plan.add_metric([str(a.shard), a.district, a.name, regency.code, regency.name], a.villages)
    # Without etcd an instance sends its direct notifications itself (a lone instance, or a
    # cluster whose contacts are Alertmanagers only: config check refuses the rest).
    sending = GaugeMetricFamily(
        "netwatch_cluster_sender",
        "1 while this instance sends its shard's direct notifications (Telegram, e-mail, "
        "webhook): always without settings.cluster.etcd, with it while it holds the lease.",
    )
    sending.add_metric([], 1.0 if sender is None or sender.remaining() > 0 else 0.0)
    return (info, shards, replicas, plan, sending)
