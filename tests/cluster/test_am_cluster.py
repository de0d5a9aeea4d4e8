"""Two replicas posting the same alert to a real 2-node Alertmanager cluster (0.25, gossiping).

Alertmanager merges what both post (same labels, so the same fingerprint; the earlier
startsAt wins) and sends one notification per state change from one node. What it cannot
merge is a replica that still says "firing" after its peer's "resolved" has been notified:
it revives the alert and the receiver hears it fire twice. The first test shows that on the
real server; the next ones show netwatch's answers (resolves wait out the peer lag; a replica
back from the dead re-posts only alerts it has confirmed since it started). Replica b's
re-posts are called by the test at chosen moments, so each sequence is the same every run.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from netwatch.alerting import store
from netwatch.alerting.engine import Engine
from netwatch.alerting.notifiers.alertmanager import AlertmanagerTarget
from netwatch.alerting.outbox import Outbox
from netwatch.alerting.types import Alert, Event
from netwatch.core.model import ClusterSettings
from netwatch.core.notifications import ContactList, NotificationSettings
from tests.alerting.factories import enqueue, notification, settings, village_alert
from tests.alerting.harness import Stream
from tests.helpers import regency
from tests.helpers.cluster_lab import AlertmanagerCluster, Hook, Host
from tests.helpers.procs import wait_for

REPOST = 0.5  # seconds between re-posts of firing alerts (loops started by a test)
FLUSHED = 3.0  # group_wait 1 s + group_interval 2 s (cluster_lab.AM_CONFIG): a change is told


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AlertmanagerCluster, Hook]]:
    host = Host()
    hook = Hook(host)
    try:
        am = AlertmanagerCluster(host, tmp_path_factory.mktemp("am"), hook.url)
        wait_for(am.settled, 60, "the Alertmanager cluster settled", 0.3)
        yield am, hook
    finally:
        host.close()
        hook.close()


def am_settings(am: AlertmanagerCluster) -> NotificationSettings:
    noc = ContactList("noc", tuple(AlertmanagerTarget(u) for u in am.urls))
    return settings(noc, alertmanager_repost_interval=REPOST)


def counts(hook: Hook, village: str) -> collections.Counter[str]:
    return collections.Counter(
        st for st, labels, _, _ in hook.alerts() if labels.get("village") == village
    )


async def until(check: Callable[[], bool], timeout: float, what: str, hook: Hook) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.1)
    told = [(st, labels.get("village"), round(at, 1)) for st, labels, _, at in hook.alerts()]
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; the receiver got {told}")


def replica(
    tmp_path: Path, name: str, am: AlertmanagerCluster, delay: float
) -> tuple[Outbox, Path]:
    db = tmp_path / f"{name}.db"
    outbox = Outbox(str(db), am_settings(am))
    outbox.resolve_delay = delay
    return outbox, db


class Outage:
    """Replicas a and b see the same village go down (b 0.7 s later). a runs its delivery
    loop; b posts when the test says, as a replica whose rounds lag behind a's."""

    def __init__(self, tmp_path: Path, cluster, running, code: str, delay: float) -> None:
        self.am, self.hook = cluster
        self.code = code
        (self.a, self.db_a), (self.b, self.db_b) = (
            replica(tmp_path, r, self.am, delay) for r in "ab"
        )
        self.running = running
        t0 = time.time() - 10
        self.alert_a: Alert = replace(village_alert(code), starts_at=t0)
        self.alert_b: Alert = replace(village_alert(code), starts_at=t0 + 0.7)

    async def fire(self) -> None:
        self.running(self.a)
        enqueue(self.a, self.db_a, notification("a-1", alert=self.alert_a))
        enqueue(self.b, self.db_b, notification("b-1", alert=self.alert_b))
        await self.b.deliver_due()
        await until(lambda: self.counts()["firing"] == 1, 15, "the firing", self.hook)

    def a_resolves(self) -> float:
        at = time.time()
        done = replace(self.alert_a, ends_at=at)
        enqueue(self.a, self.db_a, notification("a-2", Event.RESOLVED, done))
        return at

    def b_resolves(self) -> None:
        """b sees the end too; its loop delivers the resolve (and re-posts nothing more)."""
        done = replace(self.alert_b, ends_at=time.time())
        enqueue(self.b, self.db_b, notification("b-2", Event.RESOLVED, done))
        self.running(self.b)

    def counts(self) -> collections.Counter[str]:
        return counts(self.hook, self.code)


async def quiet(am: AlertmanagerCluster, hook: Hook, code: str) -> None:
    """Until both nodes hold the alert resolved, then a group interval and the second node's
    peer wait (2 s + 2 s) and more: a straggler notification would have come by then."""
    await until(
        lambda: (
            not [a for i in range(2) for a in am.alerts(i) if a["labels"].get("village") == code]
        ),
        20,
        "the alert resolved on both nodes",
        hook,
    )
    await asyncio.sleep(5)


async def test_alertmanager_revives_an_alert_a_lagging_replica_still_posts(
    tmp_path, cluster, running
) -> None:
    outage = Outage(tmp_path, cluster, running, "35.10.05.2001", delay=0.0)
    await outage.fire()
    outage.a_resolves()
    await until(lambda: outage.counts()["resolved"] == 1, 15, "a's resolve", outage.hook)
    assert await outage.b.repost_firing() == 2  # to both nodes: b still sees the village down
    await until(lambda: outage.counts()["firing"] == 2, 15, "the revived alert", outage.hook)
    outage.b_resolves()
    await until(lambda: outage.counts()["resolved"] == 2, 15, "b's resolve", outage.hook)
    # Without netwatch's wait: fired, resolved (a), fired again (b's re-post), resolved (b).
    assert outage.counts() == {"firing": 2, "resolved": 2}


async def test_resolve_waits_out_the_peer_lag(tmp_path, cluster, running) -> None:
    delay = 6.0
    outage = Outage(tmp_path, cluster, running, "35.10.05.2002", delay=delay)
    await outage.fire()
    resolved_at = outage.a_resolves()
    await asyncio.sleep(FLUSHED)  # in the test above a's resolve had been told by now
    assert outage.counts()["resolved"] == 0
    assert await outage.b.repost_firing() == 2  # the same lagging re-post as above
    outage.b_resolves()  # its resolve waits `delay` too: after a's
    await until(lambda: outage.counts()["resolved"] == 1, 20, "the resolve", outage.hook)
    got = next(
        at
        for st, labels, _, at in outage.hook.alerts()
        if st == "resolved" and labels["village"] == outage.code
    )
    assert got - resolved_at >= delay  # told after the peer lag, when b had resolved too
    await quiet(outage.am, outage.hook, outage.code)
    assert outage.counts() == {"firing": 1, "resolved": 1}


def two_replicas_then_b_resolves(am, hook, tmp_path, districts: int):
    """Both replicas' engines see the last district's village go down; a dies; b sees it come
    back and tells Alertmanager. Returns what a restart of a needs."""
    inv = regency.build(districts=districts, villages=1, notifications=am_settings(am))
    inv = replace(inv, settings=replace(inv.settings, cluster=ClusterSettings(replicas=2)))
    village, router = f"35.10.{districts:02d}.2001", f"rtr-{districts}-1"
    up = dict.fromkeys(inv.devices, True)
    replicas = {r: start(inv, str(tmp_path / f"{r}.db")) for r in "ab"}
    for engine, _ in replicas.values():
        rounds(engine, up, 2)
        rounds(engine, {**up, router: False}, 3)
    return inv, village, up, replicas


async def test_replica_back_from_the_dead_does_not_revive_an_ended_outage(
    tmp_path, cluster
) -> None:
    """Replica a dies during an outage; b tells its end; a restarts with the alert still open
    in its database. Until its own rounds confirm the alert, a re-posts nothing."""
    am, hook = cluster
    inv, village, up, replicas = two_replicas_then_b_resolves(am, hook, tmp_path, 1)
    for _, outbox in replicas.values():
        await outbox.deliver_due()
    await until(lambda: counts(hook, village)["firing"] == 1, 15, "the firing notification", hook)
    (engine_a, outbox_a), (engine_b, outbox_b) = replicas["a"], replicas["b"]
    engine_a.conn.close()  # a is killed; b sees the village come back
    outbox_b.resolve_delay = 0.0  # a is gone: nothing to wait for in this test
    rounds(engine_b, up, 3)
    await outbox_b.deliver_due()
    await until(lambda: counts(hook, village)["resolved"] == 1, 15, "the resolve by b", hook)
    engine, outbox = start(inv, str(tmp_path / "a.db"))  # a is back, no round in yet
    assert len(engine.lifecycle.open) == 1
    # Its database still says firing to both nodes (re-posting that would revive the alert,
    # as in the first test); the engine has not confirmed it since this start.
    assert len(list(outbox.store.firing_receivers())) == 2
    assert await outbox.repost_firing() == 0
    # Its own rounds say the village is up: it resolves, and that adds nothing at the receiver.
    outbox.resolve_delay = 0.0
    rounds(engine, up, 3)
    await outbox.deliver_due()
    await quiet(am, hook, village)
    assert counts(hook, village) == {"firing": 1, "resolved": 1}
    for ob in (outbox, outbox_a, outbox_b):
        await ob.close()


def start(inv, db: str) -> tuple[Engine, Outbox]:
    """Engine and outbox wired as AlertService.create wires them."""
    conn = store.connect(db)
    outbox = Outbox(conn, inv.settings.notifications)
    outbox.reload(inv)
    engine = Engine(inv, conn=conn, outbox=outbox)
    outbox.repost_filter = engine.is_confirmed
    return engine, outbox


# The engines' echo streams (the harness's stand-in), per engine and device.
_streams: dict[Engine, dict[str, Stream]] = {}


def rounds(engine: Engine, up: dict[str, bool], n: int) -> None:
    for _ in range(n):
        now = time.time()
        for name, ok in up.items():
            stream = _streams.setdefault(engine, {}).setdefault(name, Stream())
            engine.observe(name, stream.round(name, now, 2 if ok else 0, 2))
        engine.evaluate(now)
