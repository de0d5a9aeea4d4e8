"""An idle tick (nothing due: no loud village or parent, no complaint, no timer) opens no
transaction; what is due still happens on the tick it happened on before. The reference is
the same engine evaluating every village, parent and alert every tick (incremental=False: a
transaction each tick), fed the same rounds and ticks."""

from __future__ import annotations

from pathlib import Path

from netwatch.core.complaint_settings import ComplaintAlertSettings
from netwatch.core.model import AlertingSettings
from netwatch.public.complaint_feed import StoreFeed
from netwatch.public.complaints import ComplaintStore
from tests.alerting.harness import Harness
from tests.alerting.test_engine_incremental import pair
from tests.helpers import regency

V1 = "35.10.01.2001"


def _begins(h: Harness) -> list[int]:
    """A counter of the transactions the engine's connection begins from now on."""
    count = [0]

    def trace(sql: str) -> None:
        if sql.lstrip().upper().startswith("BEGIN"):
            count[0] += 1

    h.engine.conn.set_trace_callback(trace)
    return count


def test_timers_fire_on_their_tick_after_idle_ticks(tmp_path: Path) -> None:
    """An outage alert's escalation (30 s after it was sent) and reminder (100 s after the
    escalation) go out on the same one-second tick as the reference's, although the ticks
    between them open no transaction (the outage is settled: its village is skipped)."""
    settings = AlertingSettings(escalate_after=30.0, renotify_interval=100.0)
    inv = regency.build(districts=1, villages=3, aps=1, settings=settings)
    full, quick = both = pair(inv, tmp_path)
    up = dict.fromkeys(inv.devices, True)
    down = {**up, "rtr-1-1": False}
    fired_at = None
    for h in both:
        h.rounds(up, 2)
    for _ in range(4):
        for h in both:
            h.round(down)  # (evaluates at clock.t, then 2 s on)
        if fired_at is None and quick.events():
            fired_at = quick.clock.t - 2.0  # the tick that sent it
    assert [e for e, _ in quick.events()] == ["firing"]
    assert quick.outbox() == full.outbox()
    assert fired_at is not None
    begins = _begins(quick)
    sent_at: dict[str, float] = {}
    for second in range(150):  # one tick a second, no round: nothing but time changes
        for h in both:
            h.clock.t += 1.0
            h.engine.evaluate()
        assert quick.outbox() == full.outbox(), f"tick {second}"
        for n in quick.outbox():
            sent_at.setdefault(n["event"], quick.clock.t)
    # By hand: the first tick at or past 30 s after the firing, and the reminder on the first
    # tick at or past 100 s after the last notification (the escalation).
    escalated, reminded = sent_at["escalation"], sent_at["reminder"]
    assert escalated - fired_at >= 30.0 > escalated - 1.0 - fired_at
    assert reminded - escalated >= 100.0 > reminded - 1.0 - escalated
    # The ticks that sent something began a transaction; the 148 others none.
    assert begins[0] <= 4, begins[0]
    for h in both:
        h.rounds(up, 2)
    assert quick.events()[-1] == ("resolved", "VillageWifiDown")
    assert quick.outbox() == full.outbox()


def test_complaints_written_while_idle_are_weighed_on_the_next_tick(tmp_path: Path) -> None:
    """Three complaints from a village every measurement says is up fire one warning on the
    first tick after they are written, idle ticks before (no transaction), as the reference;
    it resolves when the window has passed, on the reference's tick."""
    settings = AlertingSettings(complaints=ComplaintAlertSettings(3, 60.0))
    inv = regency.build(districts=1, villages=2, aps=1, settings=settings)
    full, quick = both = pair(inv, tmp_path)
    store = ComplaintStore(str(tmp_path / "complaints.sqlite3"))
    up = dict.fromkeys(inv.devices, True)
    for h in both:
        h.engine.correlation.feed = StoreFeed(store.path)
        h.rounds(up, 2)
    begins = _begins(quick)
    for h in both:
        for _ in range(5):
            h.clock.t += 1.0
            h.engine.evaluate()
    assert begins[0] == 0  # idle: no complaint, nothing open
    for _ in range(3):
        store.add(V1, V1[:8], "cannot_connect", "", measured_state="up", outage_known=False,
                  now=quick.clock.t)  # fmt: skip
    fired = None
    for tick in range(120):
        for h in both:
            h.clock.t += 1.0
            h.engine.evaluate()
        assert quick.outbox() == full.outbox(), f"tick {tick}"
        if fired is None and quick.events():
            fired = tick
    assert fired == 0  # the first tick after the complaints were written
    assert quick.events() == [("firing", "VillageWifiComplaints"),
                              ("resolved", "VillageWifiComplaints")]  # fmt: skip
