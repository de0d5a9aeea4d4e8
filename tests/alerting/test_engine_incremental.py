"""Quiet villages (issue 10): a tick skips up villages whose devices sent nothing new. The
reference is the same engine evaluating every village every tick, fed the same reports."""

from __future__ import annotations

import random
import sqlite3

import pytest

from tests.alerting.harness import Harness
from tests.helpers import regency


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


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_incremental_evaluation_decides_what_a_full_one_decides(tmp_path, seed):
    inv = regency.build(districts=2, villages=4, aps=1)
    full = Harness(inv, str(tmp_path / "full.sqlite3"))
    full.engine.incremental = False
    quick = Harness(inv, str(tmp_path / "quick.sqlite3"))
    rng = random.Random(seed)
    names = list(inv.devices)
    # A few devices misbehave at a time (lossy, down, back); most answer every round.
    bad: dict[str, int] = {}
    skipped = 0
    for step in range(400):
        if rng.random() < 0.05:
            bad[rng.choice(names)] = rng.choice([0, 0, 1, 2, 3])  # echoes answered of 5
        if rng.random() < 0.05 and bad:
            bad.pop(rng.choice(list(bad)))
        # Each tick a share of the devices reports a round (the stream's rounds are spread).
        for name in rng.sample(names, k=rng.randint(0, len(names) // 3)):
            received = bad.get(name, 5)
            full.observe(name, received)
            quick.observe(name, received)
        full.engine.evaluate()
        due = len(quick.engine._due_villages()) if step % 7 == 0 else None
        quick.engine.evaluate()
        if due is not None:
            skipped += len(inv.villages) - due
        assert quick.outbox() == full.outbox(), f"step {step}"
        assert quick.engine.snapshot().shown == full.engine.snapshot().shown, f"step {step}"
        assert quick.engine.snapshot().recorded == full.engine.snapshot().recorded
        for h in (full, quick):
            h.clock.t += 2.0
    assert _alerts(quick.db) == _alerts(full.db)
    assert full.events(), "the sequence never alerted: it tests nothing"
    assert skipped > 0, "the incremental engine never skipped a village: it tests nothing"
