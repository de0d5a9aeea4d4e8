"""A mass outage (issue 10): villages with an open alert are evaluated again only when an
input changed, timers look only at the alerts due, and run() slices a long evaluation.

The reference is the same engine evaluating every village, parent and open alert every tick
(incremental=False), fed the same reports: everything down, the steady outage while reminders
and escalations fall due, a partial recovery (parents too: their children's alerts held for
dependency_grace, then sent), and flapping, so a village or alert skipped when it mattered
shows as a difference in notifications, open alerts, village states, history or the re-check
polls asked of parents a verdict awaits; a silence from the CLI comes and goes meanwhile."""

from __future__ import annotations

import asyncio
import random

import pytest

from netwatch.alerting import store
from netwatch.alerting.records import OpenAlert
from netwatch.alerting.snapshot import AlertView
from netwatch.alerting.store import AlertStore
from netwatch.alerting.types import fingerprint
from netwatch.core.model import AlertingSettings
from tests.alerting.harness import Harness
from tests.alerting.test_engine_incremental import _alerts, pair, same
from tests.helpers import regency

# Short timers, so that reminders, escalations, graces and waits all happen within a run.
FAST = AlertingSettings(
    upstream_wait=6.0,
    dependency_grace=10.0,
    renotify_interval=40.0,
    escalate_after=24.0,
    degraded_rounds=3,
    degraded_for=4.0,
    flap_window=60.0,
)


def _phase(step: int) -> str:
    if step < 10:
        return "up"
    if step < 60:
        return "down"  # everything, parents too
    if step < 120:
        return "recovering"  # a growing share comes back, parents first
    return "flapping"


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_incremental_engine_decides_what_a_full_one_decides_in_a_mass_outage(tmp_path, seed):
    inv = regency.build(districts=3, villages=5, aps=2, settings=FAST)
    full, quick = both = pair(inv, tmp_path)
    rng = random.Random(seed)
    names = list(inv.devices)
    pops = [n for n in names if n.startswith("pop-")]
    back: set[str] = set()
    skipped = 0
    for step in range(180):
        phase = _phase(step)
        if phase == "recovering" and rng.random() < 0.3:
            pool = [p for p in pops if p not in back] or [n for n in names if n not in back]
            if pool:
                back.add(rng.choice(pool))
        if phase == "flapping" and rng.random() < 0.4:
            back.symmetric_difference_update({rng.choice(names)})
        if step in (70, 130):  # the CLI silences a district for 30 s (another connection)
            for h in both:
                cli = AlertStore(store.connect(h.db))
                t = h.clock.t
                cli.add_silence({"district": "35.10.02"}, t + 4.0, t + 34.0, "ops", "x", t)
                cli.close()
        # Each tick a share of the devices reports a round (the stream's rounds are spread).
        for name in rng.sample(names, k=rng.randint(0, len(names) // 2)):
            up = phase == "up" or (phase != "down" and name in back)
            for h in both:
                h.observe(name, 5 if up else 0)
        full.engine.evaluate()
        due = len(quick.engine._due_villages()) if phase == "down" and step % 5 == 4 else None
        quick.engine.evaluate()
        if due is not None:
            skipped += len(inv.villages) - due
        same(quick, full, step)
        assert quick.polls == full.polls, f"step {step}"  # re-checks of awaited parents
        for h in both:
            h.clock.t += 2.0
    assert _alerts(quick.db) == _alerts(full.db)
    events = {e for e, _ in full.events()}
    assert {"firing", "reminder", "escalation", "resolved"} <= events, events
    assert skipped > 0, "the incremental engine never skipped an open village: it tests nothing"


def _down_for_good(h: Harness, village_devices: list[str], rounds: int) -> None:
    for _ in range(rounds):
        for name in village_devices:
            h.observe(name, 0)
        h.engine.evaluate()
        h.clock.t += 2.0


def test_an_open_unchanged_village_is_skipped_and_its_timers_still_run(tmp_path):
    """After upstream_wait a down village with its alert open is no longer evaluated while
    nothing of it changes; its escalation and reminder still go out on time."""
    inv = regency.build(districts=1, villages=2, aps=1, settings=FAST)
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    h.rounds(dict.fromkeys(inv.devices, True), 3)
    code = "35.10.01.2001"
    _down_for_good(h, list(inv.villages[code].devices), 8)  # down, fired, past upstream_wait
    assert h.events() == [("firing", "VillageWifiDown")]
    fired_at = h.outbox()[0]["created_at"]
    assert code not in h.engine._due_villages()  # settled: skipped until a standing changes
    assert h.engine.timers.due(h.clock.t, (), h.engine.lifecycle.open) == set()
    reminder = FAST.escalate_after + FAST.renotify_interval  # (counted from the escalation)
    while h.clock.t < fired_at + reminder + 2.0:  # nothing reported meanwhile
        h.engine.evaluate()
        assert code not in h.engine._due_villages()
        h.clock.t += 1.0
    sent = [(n["event"], n["created_at"] - fired_at) for n in h.outbox()]
    assert sent == [
        ("firing", 0.0),
        ("escalation", FAST.escalate_after),
        ("reminder", reminder),
    ]
    for name in inv.villages[code].devices:  # back: its standing changed, it resolves
        h.observe(name, 5)
        h.observe(name, 5)
    assert code in h.engine._due_villages()
    h.engine.evaluate()
    assert h.events()[-1] == ("resolved", "VillageWifiDown")


def test_a_held_alert_goes_out_when_its_parents_grace_ends_without_news(tmp_path):
    """The POP comes back while the village's router stays down: the village's alert is held
    for dependency_grace, then sent at the first tick after it, though no report came."""
    inv = regency.build(districts=1, villages=1, aps=1, settings=FAST)
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    h.rounds(dict.fromkeys(inv.devices, True), 3)
    h.rounds(dict.fromkeys(inv.devices, False), 6)
    assert h.events() == [("firing", "UpstreamDown")]
    h.rounds({"pop-1": True, "rtr-1-1": False, "ap-1-1-1": False}, 3)
    held = [a for a in h.engine.snapshot().alerts if a.labels["alertname"] == "VillageWifiDown"]
    assert [a.suppressed_by for a in held] == ["upstream:pop-1"]
    back = h.engine.tracker.tracks["pop-1"].recovered_at
    assert back is not None
    while h.clock.t < back + FAST.dependency_grace:
        h.engine.evaluate()
        assert ("firing", "VillageWifiDown") not in h.events()
        h.clock.t += 0.5
    h.engine.evaluate()
    firing = [n for n in h.outbox() if n["alert"]["labels"]["alertname"] == "VillageWifiDown"]
    assert [(n["event"], n["created_at"]) for n in firing] == [
        ("firing", back + FAST.dependency_grace)
    ]


async def test_the_loop_turns_while_a_mass_outage_is_evaluated(tmp_path):
    """run() gives the loop a turn between slices of a long evaluation (its first tick of a
    mass outage held the loop 3.5 s at 50,000 devices)."""
    inv = regency.build(districts=4, villages=10, aps=1)
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    h.rounds(dict.fromkeys(inv.devices, True), 3)
    for _ in range(4):
        for name in inv.devices:
            h.observe(name, 0)
        h.clock.t += 2.0
    h.engine.slice_seconds = 0.0  # a turn after every village
    before = h.engine.snapshot().evaluations
    turns, stop = 0, asyncio.Event()
    runner = asyncio.create_task(h.engine.run(stop))
    async with asyncio.timeout(30):
        while h.engine.snapshot().evaluations == before:
            turns += 1
            await asyncio.sleep(0)
    stop.set()
    await runner
    fired = [a for a in h.engine.snapshot().alerts if a.labels["alertname"] == "UpstreamDown"]
    assert len(fired) == 4  # the outage was evaluated in that run
    assert turns >= len(inv.villages), turns


def test_an_alerts_fingerprint_and_view_follow_its_labels_and_marks():
    labels = {"alertname": "VillageWifiDown", "village": "35.10.01.2001"}
    a = OpenAlert(id=1, labels=dict(labels), starts_at=1.0)
    assert a.fingerprint == fingerprint(labels)
    view = AlertView.of(a)
    assert AlertView.of(a) is view  # kept while nothing changes
    a.suppressed_by = "upstream:pop-1"
    assert AlertView.of(a).suppressed_by == "upstream:pop-1"
    other = {**labels, "village": "35.10.01.2002"}
    a.labels = dict(other)
    assert a.fingerprint == fingerprint(other) != fingerprint(labels)
    assert AlertView.of(a).fingerprint == fingerprint(other)


def test_a_reload_between_slices_ends_the_evaluation_and_the_next_one_decides(tmp_path):
    """set_inventory while a sliced evaluation waits for its next turn: the rest is dropped
    (every village is due again) and the next evaluation fires what the first did not."""
    inv = regency.build(districts=2, villages=5, aps=1)
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    h.rounds(dict.fromkeys(inv.devices, True), 3)
    for _ in range(4):  # every village's router down; POPs and APs answer
        for name in inv.devices:
            h.observe(name, 0 if name.startswith("rtr-") else 5)
        h.clock.t += 2.0
    slices = h.engine.evaluation(None, 0.0)  # a slice per village
    next(slices)
    next(slices)
    h.engine.set_inventory(inv)  # a reload, as AlertService.reload does between turns
    assert list(slices) == []  # ended at its next turn
    firing = {a.labels["village"] for a in h.engine.snapshot().alerts}
    assert 0 < len(firing) < len(inv.villages)  # (the snapshot of the reload: what committed)
    h.engine.evaluate()
    firing = {a.labels["village"] for a in h.engine.snapshot().alerts}
    assert firing == set(inv.villages)
    assert [e for e, _ in h.events()].count("firing") == len(inv.villages)
