"""Direct notifiers in a cluster: one sender per shard through a lease in a real etcd.

Two replicas' outboxes (their own SQLite files) hold the same news, as two engines watching
the same village write it; a real webhook receiver counts what arrives. A replica "dies" as
kill -9 would leave it (its tasks stop, etcd is told nothing); a partition cuts one replica's
own TCP relay to etcd.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from netwatch.alerting.gate import News
from netwatch.alerting.notifiers.webhook import WebhookTarget
from netwatch.alerting.outbox import Outbox
from netwatch.alerting.types import Event
from netwatch.cluster.etcd import Etcd, put
from netwatch.cluster.sender import SenderLease
from netwatch.cluster.told import Record, ToldLog, told_key
from netwatch.core.health import Health
from netwatch.core.model import EtcdSettings
from netwatch.core.notifications import ContactList
from tests.alerting.factories import FAST, enqueue, notification, settings, village_alert
from tests.helpers.etcd import EtcdServer, Relay
from tests.helpers.http_sink import HttpSink

TTL = 3.0  # the shortest lease the config allows: handovers within 4 s
LAG = 2.0


@pytest.fixture(scope="module")
def etcd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdServer]:
    server = EtcdServer(tmp_path_factory.mktemp("etcd")).start()
    try:
        yield server
    finally:
        server.stop()


class Replica:
    """One replica's outbox, sender lease and told log (what `netwatch run` wires)."""

    def __init__(self, name: str, url: str, prefix: str, db: Path, hook: str) -> None:
        self.name = name
        self.db = db
        self.settings = EtcdSettings(endpoints=(url,), prefix=prefix, lease_ttl=TTL, timeout=1.0)
        self.etcd = Etcd(self.settings)
        self.health = Health()
        self.lease = SenderLease(self.etcd, self.settings, 0, name, self.health)
        noc = ContactList("noc", (WebhookTarget(hook),))
        self.outbox = Outbox(str(db), settings(noc))
        self.outbox.gate = ToldLog(self.etcd, self.lease, self.settings, LAG, FAST.timeout)
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> Replica:
        self.tasks = [asyncio.create_task(self.lease.run()), asyncio.create_task(self.outbox.run())]
        return self

    async def kill(self) -> None:
        """Stop as kill -9 would: no resign, the lease just stops being renewed."""
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks = []
        await self.outbox.close()
        await self.etcd.close()

    def enqueue(self, *ns) -> None:
        enqueue(self.outbox, self.db, *ns)

    def rows(self) -> list[tuple[str, str | None, str | None]]:
        """(event, delivered?, note) of each outbox row, oldest first."""
        import sqlite3

        conn = sqlite3.connect(self.db)
        try:
            return conn.execute(
                "SELECT event, delivered_at IS NOT NULL, last_error FROM outbox ORDER BY rowid"
            ).fetchall()
        finally:
            conn.close()


@pytest.fixture
async def pair(tmp_path: Path, etcd_server: EtcdServer) -> AsyncIterator[tuple]:
    """Replicas a and b of shard 0 (each through its own relay to etcd) and the receiver."""
    sink = await HttpSink().start()
    prefix = f"/nw-test/{uuid.uuid4().hex[:8]}"
    relays = {r: await Relay(etcd_server.port).start() for r in "ab"}
    replicas = {
        r: Replica(f"0-{r}", relays[r].url, prefix, tmp_path / f"{r}.db", sink.url + "/hook")
        for r in "ab"
    }
    try:
        yield replicas, relays, sink
    finally:
        for replica in replicas.values():
            await replica.kill()
        for relay in relays.values():
            await relay.stop()
        await sink.stop()


async def until(check, timeout: float, what: str) -> float:
    """Poll check() (every 50 ms) until true; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def events(sink: HttpSink) -> list[str]:
    """What the receiver got, in order: each request's event (webhook payload)."""
    return [r.json()["event"] for r in sink.requests if r.path == "/hook"]


async def leader_of(replicas: dict[str, Replica]) -> tuple[Replica, Replica]:
    await until(lambda: any(r.lease.leader for r in replicas.values()), 10, "a sender")
    a, b = replicas["a"], replicas["b"]
    return (a, b) if a.lease.leader else (b, a)


def news(nid: str, event: Event = Event.FIRING, at: float | None = None, **kw):
    """One village's news as one replica's engine writes it (own id, own time)."""
    ends = time.time() if event is Event.RESOLVED else None
    return notification(nid, event, village_alert(ends_at=ends), created_at=at or time.time())


async def test_two_replicas_tell_each_news_once(pair) -> None:
    replicas, _, sink = pair
    for r in replicas.values():
        r.start()
    sender, other = await leader_of(replicas)
    assert not other.lease.leader and other.lease.holder == sender.name
    # The follower decides first: its rows wait for the sender, then end as told.
    other.enqueue(news("b-fire"))
    await asyncio.sleep(0.3)
    sender.enqueue(news("a-fire"))
    await sink.wait_for(lambda reqs: len(reqs) == 1, 10)
    await until(lambda: other.rows()[0][1], 10, "the follower's firing row marked told")
    sender.enqueue(news("a-res", Event.RESOLVED))
    other.enqueue(news("b-res", Event.RESOLVED))
    await until(lambda: all(row[1] for r in replicas.values() for row in r.rows()), 15, "all done")
    assert events(sink) == ["firing", "resolved"]
    assert [note for _, _, note in other.rows()] == [f"told by replica {sender.name} (etcd)"] * 2
    assert [note for _, _, note in sender.rows()] == [None, None]  # sent itself


async def test_sender_killed_mid_outage_the_other_resolves_once(pair) -> None:
    replicas, _, sink = pair
    for r in replicas.values():
        r.start()
    sender, other = await leader_of(replicas)
    for r in (sender, other):
        r.enqueue(news(f"{r.name}-fire"))
    await until(lambda: all(row[1] for r in replicas.values() for row in r.rows()), 10, "firing")
    assert events(sink) == ["firing"]
    await sender.kill()
    killed = time.monotonic()
    other.enqueue(news("b-res", Event.RESOLVED))  # the outage ends while a is dead
    took_over = await until(lambda: other.lease.leader, TTL + TTL / 3 + 3, "the takeover")
    await sink.wait_for(lambda reqs: len(reqs) == 2, 10)
    assert events(sink) == ["firing", "resolved"]
    print(f"lease TTL {TTL:g} s: the other took the lease {took_over - killed:.1f} s after kill")
    assert took_over - killed <= TTL + TTL / 3 + 1.5  # the dead lease's TTL, one campaign


async def test_partitioned_sender_stops_before_the_other_starts(pair) -> None:
    replicas, relays, sink = pair
    for r in replicas.values():
        r.start()
    sender, other = await leader_of(replicas)
    relays[sender.name[-1]].cut()
    cut = time.monotonic()
    stopped = await until(lambda: sender.lease.remaining() == 0, TTL + 2, "the sender stopping")
    started = await until(lambda: other.lease.leader, TTL + TTL / 3 + 3, "the other starting")
    print(f"partition: the cut-off sender stopped {stopped - cut:.1f} s after the cut, the "
          f"other started {started - cut:.1f} s after it")  # fmt: skip
    assert stopped <= started  # fencing by time: never two senders
    assert stopped - cut <= TTL
    # Loud: /readyz and netwatch_component_up name etcd on the cut-off replica.
    await until(lambda: "etcd" in sender.health.faults, 5, "the etcd fault")
    assert "sends no Telegram, e-mail or webhook" in sender.health.faults["etcd"]
    # News during the partition: told once, by the replica that can reach etcd.
    for r in (sender, other):
        r.enqueue(news(f"{r.name}-fire"))
    await sink.wait_for(lambda reqs: len(reqs) == 1, 10)
    assert sender.rows()[0][1] == 0 and sender.rows()[0][2].startswith("held: etcd unreachable")
    relays[sender.name[-1]].heal()
    await until(lambda: sender.rows()[0][1], 15, "the healed replica's row told")
    assert sender.rows()[0][2] == f"told by replica {other.name} (etcd)"
    assert "etcd" not in sender.health.faults and not sender.lease.leader
    assert events(sink) == ["firing"]


async def test_a_send_left_unconfirmed_by_a_dead_sender_is_sent_again(pair) -> None:
    """The one window for a repeat: a sender that claimed a news and died before marking it
    sent. The next sender waits out that send's time, then sends: repeated, never lost."""
    replicas, _, sink = pair
    b = replicas["b"].start()
    await until(lambda: b.lease.leader, 10, "b as the sender")
    n = news("b-fire")
    key = told_key(b.settings.prefix, News.of(_receiver(b, n), n))
    claimed = Record("firing", 0, time.time(), "0-a", "sending")
    await Etcd(b.settings).txn([], [put(key, claimed.text())])
    b.enqueue(n)
    await asyncio.sleep(1.0)
    assert sink.requests == [] and b.rows()[0][2] == "held: replica 0-a is sending it"
    gate = b.outbox.gate
    assert isinstance(gate, ToldLog)
    await sink.wait_for(lambda reqs: len(reqs) == 1, gate.stale + 5)
    assert events(sink) == ["firing"]


async def test_etcd_down_holds_every_direct_notification_and_says_so(pair) -> None:
    replicas, relays, sink = pair
    for r in replicas.values():
        r.start()
    await leader_of(replicas)
    for relay in relays.values():
        relay.cut()
    await until(
        lambda: all(r.lease.remaining() == 0 for r in replicas.values()), TTL + 2, "no sender"
    )
    for r in replicas.values():
        r.enqueue(news(f"{r.name}-fire"))
    await until(lambda: all("etcd" in r.health.faults for r in replicas.values()), 5, "faults")
    await asyncio.sleep(1.0)
    assert sink.requests == []  # nobody may send: neither knows who the sender is
    for r in replicas.values():
        # netwatch_cluster_sender is 0 (test_sender_run.py reads it): the rule pages on it.
        assert r.lease.remaining() == 0 and not r.lease.leader
        assert r.rows()[0][1] == 0  # held, not lost
    for relay in relays.values():
        relay.heal()
    await sink.wait_for(lambda reqs: len(reqs) == 1, TTL * 3)
    await until(lambda: all(row[1] for r in replicas.values() for row in r.rows()), 15, "done")
    assert events(sink) == ["firing"]


def _receiver(r: Replica, n) -> str:
    """The stored receiver of r's only target (what the outbox keys rows by)."""
    from netwatch.alerting.routing import route

    (rcv,) = route(n, r.outbox.settings)
    return rcv.key
