"""The tracker's sustained window: the last `degraded_rounds` rounds, their mean loss and RTT.

Expected values are worked out by hand in each test (sums of the rounds written out).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from netwatch.alerting.tracker import Tracker
from netwatch.core.model import AlertingSettings

DEV = "rtr-1-1"


@dataclass(frozen=True)
class Counts:
    sent: int
    received: int
    rtt_avg: float | None


@dataclass(frozen=True)
class Report:
    time: float
    result: Counts | None
    up: bool | None = True
    event: str = "round"
    failing: bool = False
    fail_since: float | None = None
    seen_at: float | None = None


def tracker(rounds: int) -> Tracker:
    return Tracker(AlertingSettings(degraded_rounds=rounds))


def feed(tr: Tracker, *rounds: tuple[int, int, float | None], up: bool | None = True) -> None:
    for i, (sent, received, rtt) in enumerate(rounds):
        tr.observe(DEV, Report(time=float(i), result=Counts(sent, received, rtt), up=up))


def window_of(tr: Tracker) -> tuple[int, float | None, float | None]:
    t = tr.tracks[DEV]
    return t.samples, t.loss_avg, t.rtt_avg


def test_nothing_is_kept_per_device_before_its_first_round():
    tr = tracker(10)
    assert tr.track(DEV).window is None
    tr.observe(DEV, Report(time=1.0, result=None, event="up"))  # a verdict without echoes
    tr.observe(DEV, Report(time=2.0, result=Counts(0, 0, None)))  # nothing sent this round
    assert tr.tracks[DEV].window is None
    assert window_of(tr) == (0, None, None)


def test_the_window_keeps_the_last_rounds_and_averages_over_them():
    tr = tracker(3)
    feed(tr, (5, 5, 0.010))
    # 1 round: 0 of 5 lost; RTT 0.010.
    assert window_of(tr) == (1, pytest.approx(0.0), pytest.approx(0.010))
    feed(tr, (5, 4, 0.020), (5, 3, 0.030))
    # 3 rounds: 15 sent, 12 replies: loss 3/15 = 0.2; RTT (5*0.01 + 4*0.02 + 3*0.03)/12 =
    # (0.05 + 0.08 + 0.09)/12 = 0.22/12.
    assert window_of(tr) == (3, pytest.approx(0.2), pytest.approx(0.22 / 12))
    feed(tr, (4, 2, 0.100))
    # The first round leaves: (5,4) (5,3) (4,2): 14 sent, 9 replies: loss 5/14; RTT
    # (0.08 + 0.09 + 0.2)/9 = 0.37/9.
    assert window_of(tr) == (3, pytest.approx(5 / 14), pytest.approx(0.37 / 9))
    feed(tr, (5, 0, None))
    # (5,3) (4,2) (5,0): 14 sent, 5 replies: loss 9/14; RTT (0.09 + 0.2)/5 = 0.058.
    assert window_of(tr) == (3, pytest.approx(9 / 14), pytest.approx(0.058))
    feed(tr, (5, 0, None), (5, 0, None))
    # Three rounds without a reply: loss 1, no RTT to average.
    assert window_of(tr) == (3, pytest.approx(1.0), None)
    assert len(tr.tracks[DEV].window or ()) == 3 * 3  # three doubles a round, no more


def test_a_window_of_one_round_when_degraded_rounds_is_zero():
    tr = tracker(0)  # keep at least one round
    feed(tr, (5, 5, 0.010), (4, 1, 0.5))
    # Only the newest: 3 of 4 lost; RTT 0.5.
    assert window_of(tr) == (1, pytest.approx(0.75), pytest.approx(0.5))


def test_a_round_with_nothing_sent_leaves_the_window_as_it_was():
    tr = tracker(2)
    feed(tr, (5, 4, 0.02), (0, 0, None), (5, 2, 0.04))
    # (5,4) (5,2): 10 sent, 6 replies: loss 0.4; RTT (0.08 + 0.08)/6.
    assert window_of(tr) == (2, pytest.approx(0.4), pytest.approx(0.16 / 6))


def test_the_rounds_while_down_are_forgotten_at_the_recovery():
    tr = tracker(10)
    feed(tr, (5, 5, 0.01), (5, 5, 0.03))
    feed(tr, (5, 0, None), (5, 0, None), (5, 0, None), up=False)
    # While down the window goes on: 25 sent, 10 replies: loss 0.6; RTT (0.05 + 0.15)/10.
    assert window_of(tr) == (5, pytest.approx(0.6), pytest.approx(0.02))
    assert tr.tracks[DEV].confirmed_up is False
    # The round that brings the verdict back up is not counted either.
    changed = tr.observe(DEV, Report(time=20.0, result=Counts(5, 5, 0.2), up=True))
    assert changed
    assert tr.tracks[DEV].recovered_at == 20.0
    assert window_of(tr) == (0, None, None)
    feed(tr, (5, 4, 0.04))
    # A fresh window: 1 of 5 lost; RTT 0.04.
    assert window_of(tr) == (1, pytest.approx(0.2), pytest.approx(0.04))


def test_every_round_over_the_window_is_dropped_at_once():
    tr = tracker(4)
    feed(tr, (5, 5, 0.01), (5, 4, 0.02), (5, 3, 0.03), (5, 2, 0.04))
    tr.settings = AlertingSettings(degraded_rounds=2)  # 4 rounds kept, 2 wanted: 3 leave
    feed(tr, (5, 1, 0.05))
    # (5,2) (5,1): 10 sent, 3 replies: loss 0.7; RTT (0.08 + 0.05)/3.
    assert window_of(tr) == (2, pytest.approx(0.7), pytest.approx(0.13 / 3))
