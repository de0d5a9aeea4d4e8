"""Quiet villages and parents (issue 10): a tick skips up villages and parents whose devices'
standing did not change (Tracker.standing: verdict, radio flag, full window, degraded
thresholds and half of them passed). The reference is the same engine evaluating every
village and parent every tick, fed the same reports: lossy and slow rounds on both sides of
the thresholds (parents too), verdicts, radio flags and an ONU that joins its village's
verdict, so a skipped evaluation that mattered shows as a difference."""

from __future__ import annotations

import dataclasses
import random
import sqlite3
from pathlib import Path

import pytest

from netwatch.core import link_facts as cf
from netwatch.core.model import AlertingSettings, Device, Inventory, OnuLink
from netwatch.core.plugins import Health, Verdict
from tests.alerting.harness import Harness
from tests.helpers import regency

ONU_VILLAGE = "35.10.01.2001"
OLT = "pop-1"
ONU = OnuLink(olt=OLT, pon="0/1/3", id=5)


def _alerts(db: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        alerts = conn.execute(
            "SELECT fingerprint, starts_at, ends_at, cause FROM alerts ORDER BY id"
        ).fetchall()
        states = conn.execute(
            "SELECT village, state, since FROM village_states ORDER BY village, since"
        ).fetchall()
    finally:
        conn.close()
    return [alerts, states]


@dataclasses.dataclass
class _Polled:
    """A device's state after another collector's poll (SNMP): its radios, or an OLT's word."""

    device: Device
    radios_down: bool = False

    def verdicts(self) -> list[Verdict]:
        return [Verdict(Health.NOT_SERVING if self.radios_down else Health.OK, "radio")]


def _radios(h: Harness, ap: str, down: bool) -> None:
    h.engine.on_observation(_Polled(h.inventory.devices[ap], down), object())


def _olt_says(h: Harness, state: str) -> None:
    """The OLT's poll: the village's ONU in state (as Causes keeps an answered poll)."""
    labels = {"pon": "0/1/3", "onu": "5", "state": state}
    row = cf.Row(1.0 if state == "working" else 0.0, labels)
    h.engine.causes.facts[OLT] = cf.DeviceFacts(h.clock.t, {cf.ONU_UP: (row,)})
    h.engine.causes.onu_changed = True  # as Causes.on_observation says of a changed ONU
    h.engine.on_observation(_Polled(h.inventory.devices[OLT]), object())


def _open(h: Harness) -> list[tuple]:
    return [(a.fingerprint, a.cause, a.suppressed_by) for a in h.engine.snapshot().alerts]


def pair(inv: Inventory, tmp_path: Path) -> tuple[Harness, Harness]:
    """The reference (every village, parent and alert every tick) and the incremental engine."""
    full = Harness(inv, str(tmp_path / "full.sqlite3"))
    full.engine.incremental = False
    return full, Harness(inv, str(tmp_path / "quick.sqlite3"))


def same(quick: Harness, full: Harness, step: int) -> None:
    """What both decided so far: notifications, village states and open alerts."""
    assert quick.outbox() == full.outbox(), f"step {step}"
    assert quick.engine.snapshot().shown == full.engine.snapshot().shown, f"step {step}"
    assert quick.engine.snapshot().recorded == full.engine.snapshot().recorded
    assert _open(quick) == _open(full), f"step {step}"


SETTINGS = {
    "defaults": AlertingSettings(),
    # Short windows and holds: the degraded warnings come and go within the run.
    "short": AlertingSettings(degraded_rounds=3, degraded_for=4.0, flap_window=120.0),
}


@pytest.mark.parametrize("settings", list(SETTINGS))
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_incremental_evaluation_decides_what_a_full_one_decides(tmp_path, seed, settings):
    inv = regency.build(districts=2, villages=4, aps=2, settings=SETTINGS[settings])
    linked = dataclasses.replace(inv.villages[ONU_VILLAGE], onu=ONU)
    inv = dataclasses.replace(inv, villages={**inv.villages, ONU_VILLAGE: linked})
    full, quick = both = pair(inv, tmp_path)
    rng = random.Random(seed)
    names = list(inv.devices)
    aps = [n for n in names if n.startswith("ap-")]
    # A few devices misbehave at a time: echoes answered of 5 and their RTT (below, between
    # and above the degraded thresholds: 0.3 s, resolving below 0.225 s); most answer well.
    bad: dict[str, tuple[int, float]] = {}
    skipped = 0
    for step in range(500):
        if rng.random() < 0.06:
            received = rng.choice([0, 0, 1, 2, 3, 4, 4, 5, 5])
            bad[rng.choice(names)] = (received, rng.choice([0.002, 0.002, 0.25, 0.35]))
        if rng.random() < 0.05 and bad:
            bad.pop(rng.choice(list(bad)))
        if rng.random() < 0.02:
            ap, down = rng.choice(aps), rng.random() < 0.5
            for h in both:
                _radios(h, ap, down)
        if rng.random() < 0.03:
            state = rng.choice(["working", "working", "dying_gasp", "los"])
            for h in both:
                _olt_says(h, state)
        # Each tick a share of the devices reports a round (the stream's rounds are spread).
        for name in rng.sample(names, k=rng.randint(0, len(names) // 3)):
            received, rtt = bad.get(name, (5, 0.002))
            for h in both:
                h.observe(name, received, rtt=rtt)
        full.engine.evaluate()
        due = len(quick.engine._due_villages()) if step % 7 == 0 else None
        quick.engine.evaluate()
        if due is not None:
            skipped += len(inv.villages) - due
        same(quick, full, step)
        for h in both:
            h.clock.t += 2.0
    assert _alerts(quick.db) == _alerts(full.db)
    assert full.events(), "the sequence never alerted: it tests nothing"
    assert skipped > 0, "the incremental engine never skipped a village: it tests nothing"


def test_a_round_that_changes_no_standing_leaves_its_quiet_village_alone(tmp_path):
    """Healthy rounds after the window filled make no village due; a round whose window
    passes the loss threshold does (and the village turns degraded)."""
    s = AlertingSettings(degraded_rounds=3)
    inv = regency.build(districts=1, villages=3, aps=1, settings=s)
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    for _ in range(5):  # verdicts up, windows full
        h.round(dict.fromkeys(inv.devices, True))
    assert h.engine._due_villages() == []
    for name in inv.devices:
        h.observe(name, 5)
    assert h.engine._due_villages() == [], "healthy rounds made villages due"
    h.observe("ap-1-2-1", 1)  # 4 of 15 lost over the window: 0.27 > 0.2
    assert h.engine._due_villages() == ["35.10.01.2002"]
    h.engine.evaluate()
    assert h.engine.snapshot().shown["35.10.01.2002"] == "degraded"
