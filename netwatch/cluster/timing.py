"""How far apart two replicas of a shard may see the same change: their peer lag.

Both replicas poll the same devices on their own schedules, so one sees a village go down or
come back up to one ping interval (its round phase) after the other, plus a traceroute wait,
a round's own duration and the evaluation ticks. Every decision that must not split one
outage into two notifications waits at least this long (docs/scaling.md, "High availability").
"""

from __future__ import annotations

from netwatch.core.model import Inventory

SLACK = 2.0  # seconds: a loaded machine's scheduling delay between a round and its evaluation


def peer_lag(inventory: Inventory) -> float:
    """Seconds: settings.cluster.peer_lag, else the bound from the ping and alert settings."""
    s = inventory.settings
    if s.cluster.peer_lag is not None:
        return s.cluster.peer_lag
    intervals = [d.ping_interval for d in inventory.devices.values() if d.ping and d.ping_interval]
    interval = max([s.ping.interval, *intervals])
    round_time = s.ping.count * s.ping.spacing + s.ping.timeout
    a = s.alerting
    trace = a.traceroute_wait if a.traceroute else 0.0
    return interval + round_time + trace + 2 * a.tick + SLACK
