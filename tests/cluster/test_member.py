"""An instance's shard and replica: flags, environment, systemd and StatefulSet names."""

from __future__ import annotations

import pytest

from netwatch.cluster.member import Member, MemberError, from_args, settle
from netwatch.core.model import ClusterSettings

THREE_BY_TWO = ClusterSettings(shards=3, replicas=2)


@pytest.mark.parametrize(
    ("shard", "replica", "instance", "env", "expected"),
    [
        (1, "b", None, {}, Member(1, "b")),
        (None, None, None, {"NETWATCH_SHARD": "2", "NETWATCH_REPLICA": "a"}, Member(2, "a")),
        (None, None, "2-b", {}, Member(2, "b")),  # systemd netwatch@2-b
        (None, None, None, {"NETWATCH_INSTANCE": "0-a"}, Member(0, "a")),
        (None, None, "netwatch-b-2", {"NETWATCH_REPLICA": "b"}, Member(2, "b")),  # pod name
        (1, None, "2-b", {}, Member(1, "b")),  # a flag wins over the name
    ],
)
def test_identity_sources(shard, replica, instance, env, expected):
    assert settle(from_args(shard, replica, instance, env), THREE_BY_TWO) == expected


def test_one_shard_one_replica_needs_no_identity():
    assert settle(from_args(None, None, None, {}), ClusterSettings()) == Member(0, "a")


@pytest.mark.parametrize(
    ("member", "message"),
    [
        (Member(None, "a"), "splits the inventory into 3 shards: tell this instance its shard"),
        (Member(3, "a"), "shard 3 does not exist: settings.cluster.shards is 3 (shards 0-2)"),
        (Member(0, None), "runs 2 replicas of each shard: tell this instance which one (a, b)"),
        (Member(0, "c"), "replica 'c' does not exist: settings.cluster.replicas is 2 (a, b)"),
    ],
)
def test_what_the_config_lacks_is_refused(member, message):
    with pytest.raises(MemberError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settle(member, THREE_BY_TWO)


def test_bad_names_are_refused():
    with pytest.raises(MemberError, match="neither SHARD-REPLICA"):
        from_args(None, None, "shard-two", {})
    with pytest.raises(MemberError, match="is not a shard number"):
        from_args(None, None, None, {"NETWATCH_SHARD": "two"})


def test_each_instance_of_a_cluster_keeps_its_own_state(tmp_path):
    from dataclasses import replace

    from netwatch.cluster.member import instance_state
    from netwatch.core.model import AlertingSettings, InfluxSettings, Settings
    from tests.core.inventories import make_inventory

    settings = Settings(
        cluster=THREE_BY_TWO,
        alerting=AlertingSettings(db_path=str(tmp_path / "alerts.sqlite3")),
        influxdb=InfluxSettings(url="http://127.0.0.1:1", bucket="b", spool_dir="/var/spool"),
    )
    inv = make_inventory({}, settings)
    one, two = instance_state(inv, Member(1, "a")), instance_state(inv, Member(1, "b"))
    assert one.settings.alerting.db_path == str(tmp_path / "alerts-shard1-a.sqlite3")
    assert two.settings.alerting.db_path == str(tmp_path / "alerts-shard1-b.sqlite3")
    assert two.settings.influxdb.spool_dir == "/var/spool/shard1-b"
    alone = replace(inv, settings=replace(settings, cluster=ClusterSettings()))
    assert instance_state(alone, Member(0, "a")) is alone  # one instance: paths as written


async def test_reload_keeps_the_shard_and_refuses_a_config_without_it(tmp_path):
    from netwatch.core.runtime import Runtime
    from tests.config.test_regions import PROVINCE
    from tests.helpers.configs import write

    pinned = PROVINCE.replace("name: Jember\n", "name: Jember\n      shard: 2\n")
    path = write(tmp_path, "settings:\n  cluster: {shards: 3, replicas: 2}\n" + pinned)
    rt = Runtime.from_file(path, Member(2, "b"))
    assert rt.member == Member(2, "b") and rt.inventory.shard == 2
    mine = {a.district for a in rt.inventory.assignment if a.shard == 2}
    assert "35.09.01" in mine and set(rt.inventory.districts) == mine  # its own districts
    assert {d.district for d in rt.inventory.devices.values()} == mine
    write(tmp_path, "settings:\n  cluster: {shards: 2, replicas: 2}\n" + PROVINCE)
    result = await rt.reload()
    assert not result.ok
    assert result.errors == [
        f"{path}: shard 2 does not exist: settings.cluster.shards is 2 (shards 0-1)"
    ]
    assert rt.inventory.shard == 2  # the running inventory stays
