"""Lifecycle.idle: the intents the engine skips (no savepoint, no reconcile) are those whose
reconcile would leave the open alerts, the holds and the database as they were."""

from __future__ import annotations

import itertools

from netwatch.alerting import store
from netwatch.alerting.engine import Engine
from netwatch.alerting.kinds import Intent
from netwatch.alerting.rules import ServiceState, Verdict
from netwatch.alerting.types import fingerprint
from tests.helpers import regency

NOW = 1_700_000_000.0


def _rows(engine: Engine) -> list[tuple]:
    return engine.conn.execute("SELECT * FROM alerts ORDER BY id").fetchall()


def test_idle_intents_are_those_reconcile_leaves_as_they_were():
    inventory = regency.build(districts=1, villages=1, aps=1)
    engine = Engine(inventory, conn=store.connect(":memory:"), sink=lambda _n: None,
                    clock=lambda: NOW)  # fmt: skip
    lc, topo = engine.lifecycle, engine.topology
    cases = itertools.product((False, True), repeat=4)  # want, hold, an alert open, held since
    for k, (want, hold, opened, held) in enumerate(cases):
        labels = {"alertname": "ApNoClients", "severity": "warning", "case": str(k)}
        fp = fingerprint(labels)
        wanted = Verdict(ServiceState.DEGRADED, "no_clients")
        if opened:  # fired by an intent that wanted it, no hold
            lc.reconcile(Intent(labels, fp, wanted, want=True, may_resolve=False), topo, NOW)
            assert fp in lc.open
        if held:
            lc.wanted_since[fp] = NOW - 1.0
        verdict = wanted if want else Verdict(ServiceState.UP, "no_clients")
        intent = Intent(labels, fp, verdict, want=want, may_resolve=True,
                        hold_for=60.0 if hold else None)  # fmt: skip
        before = (set(lc.open), dict(lc.wanted_since), _rows(engine))
        idle = lc.idle(intent)
        lc.reconcile(intent, topo, NOW + 1.0)
        after = (set(lc.open), dict(lc.wanted_since), _rows(engine))
        # By hand: nothing wanted, nothing open to resolve, no hold to forget.
        assert idle == (not want and not opened and not (hold and held)), (want, hold, opened, held)
        if idle:
            assert after == before
        elif not want:  # an open alert resolves, or a hold is forgotten
            assert after != before
    engine.conn.close()
