"""The etcd sender lease wired into `netwatch run`: two replicas of a shard with a real etcd
and a webhook contact. One of them holds the lease, the other takes it over after a kill -9,
a reload may not change the etcd settings, and losing etcd makes the survivor say so on /readyz
and in its metrics (what the outbox does with it is tests/cluster/test_sender.py)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.helpers.cluster_lab import Hook, Host, Instances
from tests.helpers.configs import BASE, write
from tests.helpers.etcd import EtcdServer
from tests.helpers.procs import http_get, wait_for

TTL = 3.0  # settings.cluster.etcd.lease_ttl of this test: a handover within 4 s


def settings(etcd: str, hook: str) -> str:
    return (
        "settings:\n"
        f"  cluster: {{shards: 1, replicas: 2, etcd: {{endpoints: [{etcd}], lease_ttl: 3s,"
        " timeout: 1s}}\n"
        "  notifications:\n"
        "    default_contacts: noc\n"
        f"    contacts: [{{name: noc, webhook: [{{url: '{hook}'}}]}}]\n"
    )


def test_one_replica_holds_the_lease_the_other_takes_over_and_losing_etcd_is_loud(
    tmp_path: Path,
) -> None:
    etcd = EtcdServer(tmp_path / "etcd").start()
    host = Host()  # netwatch runs through host.popen: stopped by PID at the end
    hook = Hook(host)
    config = write(tmp_path, BASE.replace("settings:\n", settings(etcd.url, hook.url), 1))
    nw = Instances(host, tmp_path, config)
    try:
        for name in ("0-a", "0-b"):
            nw.start(name)
        nw.wait_ready(["0-a", "0-b"])  # /readyz waits for etcd's first answer
        alive = ["0-a", "0-b"]

        def senders() -> dict[str, float]:
            return {n: nw.metric(n, "netwatch_cluster_sender") for n in alive}

        wait_for(lambda: sorted(senders().values()) == [0.0, 1.0], 10, "one sender", 0.2)
        now = senders()
        sender, other = sorted(alive, key=lambda n: -now[n])
        nw.kill9(sender)
        killed = time.monotonic()
        alive.remove(sender)
        wait_for(lambda: senders() == {other: 1.0}, TTL * 4 / 3 + 5, "the takeover", 0.2)
        print(f"{other} holds the lease {time.monotonic() - killed:.1f} s after kill -9")

        # A reload cannot swap the etcd settings under a running lease: refused, and named.
        config.write_text(config.read_text().replace("lease_ttl: 3s", "lease_ttl: 6s"))
        status, body = nw.reload(other)
        assert status != 200 and "settings.cluster.etcd changed" in body, (status, body)
        assert senders() == {other: 1.0}

        etcd.stop()
        wait_for(lambda: senders() == {other: 0.0}, TTL + 3, "the sender stepping down", 0.2)
        status, body = http_get(nw.url(other) + "/readyz")
        assert status == 503 and "etcd" in body, (status, body)
        assert "sends no Telegram, e-mail or webhook notification" in body, body
        assert nw.metric(other, "netwatch_component_up", component="etcd") == 0
        assert hook.payloads == []  # nothing was down: nothing to tell
    finally:
        host.close()
        hook.close()
        etcd.stop()
