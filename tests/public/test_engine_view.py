"""The board's reading of a real alert engine (driven with synthetic rounds, injected clock):
a district cut becomes 'down, fibre failure, known' for every village behind the POP, with
the time the engine recorded, and the view is built from the engine's own store."""

from __future__ import annotations

from types import SimpleNamespace

from netwatch.core.model import AlertingSettings
from netwatch.core.state import State
from netwatch.public.build import Builder
from netwatch.public.engine_view import read_engine
from netwatch.public.history import History
from tests.alerting.harness import Harness
from tests.helpers import regency

VILLAGES = ("35.10.01.2001", "35.10.01.2002", "35.10.01.2003")


def test_a_district_cut_reads_as_known_fibre_failure(tmp_path) -> None:
    inv = regency.build(districts=1, villages=3, aps=1, settings=AlertingSettings())
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    up = dict.fromkeys(inv.devices, True)
    h.rounds(up, 2)
    monitor = SimpleNamespace(state=State(inv), alerts=h.engine)
    facts = read_engine(monitor)
    assert facts.from_engine and facts.evaluation == h.engine.snapshot().evaluations
    assert {c: f.state for c, f in facts.villages.items()} == dict.fromkeys(VILLAGES, "up")
    assert not any(f.outage_known for f in facts.villages.values())

    cut = dict.fromkeys(inv.devices, False)
    started = h.clock.t
    h.rounds(cut, 6)
    facts = read_engine(monitor)
    for code in VILLAGES:
        f = facts.villages[code]
        assert (f.state, f.outage_known) == ("down", True)  # unreachable-upstream is down
        assert f.cause == "upstream_down:pop-1"  # the engine's words, with a device name...
    view = Builder(History(h.db, "Asia/Jakarta"), None).build(inv, facts, h.clock.t)
    v = view.villages[VILLAGES[0]]
    assert (v.state, v.cause, v.outage_known) == ("down", "fiber", True)  # ...the public's
    recorded = h.history(VILLAGES[0])
    assert recorded == ["up", "unreachable-upstream"]
    assert started <= v.since <= h.clock.t  # the time the engine recorded the outage
    assert "pop-1" not in repr(view)


def test_without_the_engine_states_come_from_the_latest_rounds() -> None:
    inv = regency.build(districts=1, villages=1, aps=1)
    facts = read_engine(SimpleNamespace(state=State(inv), alerts=None))
    assert not facts.from_engine
    assert facts.villages["35.10.01.2001"].state == "unknown"  # no round yet
