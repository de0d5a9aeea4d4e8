"""Who this instance is: its shard and replica, from the CLI, the environment or its name.

Every instance reads the same config; only this identity differs. A systemd template
instance `netwatch@2-b` passes `--instance 2-b`; a StatefulSet pod `netwatch-b-2` passes its
pod name (the ordinal picks the shard) and the replica through NETWATCH_REPLICA.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from netwatch.core.model import ClusterSettings, Inventory

SHARD_ENV, REPLICA_ENV, INSTANCE_ENV = "NETWATCH_SHARD", "NETWATCH_REPLICA", "NETWATCH_INSTANCE"
_SYSTEMD = re.compile(r"(\d+)-([a-z])")  # netwatch@2-b
_ORDINAL = re.compile(r".*-(\d+)")  # netwatch-b-2 (a StatefulSet pod name)


class MemberError(ValueError):
    """The instance was told a shard or replica the config does not have."""


@dataclass(frozen=True, slots=True)
class Member:
    shard: int | None = None  # None: not told (fine while the config has one shard)
    replica: str | None = None

    def label(self) -> str:
        return f"{self.shard if self.shard is not None else '-'}-{self.replica or '-'}"


def replica_names(count: int) -> list[str]:
    return [chr(ord("a") + i) for i in range(count)]


def from_args(
    shard: int | None, replica: str | None, instance: str | None, env: Mapping[str, str]
) -> Member:
    """CLI flags win over the environment; an instance name fills what is left."""
    if shard is None and env.get(SHARD_ENV, "").strip():
        text = env[SHARD_ENV].strip()
        if not text.isdigit():
            raise MemberError(f"{SHARD_ENV}={text!r} is not a shard number")
        shard = int(text)
    replica = replica or env.get(REPLICA_ENV, "").strip() or None
    instance = instance or env.get(INSTANCE_ENV, "").strip() or None
    if instance is not None:
        if m := _SYSTEMD.fullmatch(instance):
            shard = int(m.group(1)) if shard is None else shard
            replica = replica or m.group(2)
        elif m := _ORDINAL.fullmatch(instance):
            shard = int(m.group(1)) if shard is None else shard
        else:
            raise MemberError(
                f"instance name {instance!r} is neither SHARD-REPLICA (2-b) nor a "
                "StatefulSet pod name ending in its ordinal (netwatch-b-2)"
            )
    return Member(shard, replica)


def settle(member: Member, cluster: ClusterSettings) -> Member:
    """Fill the defaults a one-shard or one-replica config allows; refuse what does not exist."""
    shard, replica = member.shard, member.replica
    if shard is None:
        if cluster.shards > 1:
            raise MemberError(
                f"this config splits the inventory into {cluster.shards} shards: tell this "
                f"instance its shard (--shard N, {SHARD_ENV} or --instance N-R)"
            )
        shard = 0
    if shard >= cluster.shards:
        raise MemberError(
            f"shard {shard} does not exist: settings.cluster.shards is {cluster.shards} "
            f"(shards 0-{cluster.shards - 1})"
        )
    names = replica_names(cluster.replicas)
    if replica is None:
        if cluster.replicas > 1:
            raise MemberError(
                f"this config runs {cluster.replicas} replicas of each shard: tell this "
                f"instance which one ({', '.join(names)}) with --replica or {REPLICA_ENV}"
            )
        replica = names[0]
    if replica not in names:
        raise MemberError(
            f"replica {replica!r} does not exist: settings.cluster.replicas is "
            f"{cluster.replicas} ({', '.join(names)})"
        )
    return Member(shard, replica)


def instance_state(inv: Inventory, member: Member) -> Inventory:
    """In a cluster each instance keeps its own alert database and InfluxDB spool: two
    processes on one outbox would each send every notification."""
    cluster = inv.settings.cluster
    if cluster.shards == 1 and cluster.replicas == 1:
        return inv
    tag = f"shard{member.shard}-{member.replica}"
    root, ext = os.path.splitext(inv.settings.alerting.db_path)
    alerting = replace(inv.settings.alerting, db_path=f"{root}-{tag}{ext}")
    influx = inv.settings.influxdb
    if influx is not None:
        influx = replace(influx, spool_dir=os.path.join(influx.spool_dir, tag))
    return replace(inv, settings=replace(inv.settings, alerting=alerting, influxdb=influx))


def shard_view(inv: Inventory, shard: int) -> Inventory:
    """The part of the inventory one shard watches: its districts, villages and devices."""
    mine = {a.district for a in inv.assignment if a.shard == shard}
    return replace(
        inv,
        districts={c: d for c, d in inv.districts.items() if c in mine},
        villages={c: v for c, v in inv.villages.items() if v.district in mine},
        devices={n: d for n, d in inv.devices.items() if d.district in mine},
        shard=shard,
    )
