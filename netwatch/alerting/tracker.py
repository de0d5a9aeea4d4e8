"""Per-device verdicts from the echo stream's reports, and the sustained window of rounds.

The stream decides up and down (its sequential test: collectors/icmp/stream.py); here the
engine keeps what it was told: the verdict, whether a run of losses is going on and since
when, how fresh its news is, and the last `degraded_rounds` rounds for loss and delay.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass

from netwatch.alerting.kinds import HOLD_FACTOR
from netwatch.alerting.rules import DeviceView
from netwatch.alerting.seams import EchoReport
from netwatch.core.model import AlertingSettings


@dataclass(slots=True)
class Track(DeviceView):
    recovered_at: float | None = None  # last down → up verdict
    # The last rounds, oldest first, three doubles each: echoes with an outcome, replies, sum
    # of the replies' RTTs. None until the first round (and after a recovery): one compact
    # array per device, not a deque of tuples (a deque is 760 B empty; issue 10's 50k RSS).
    window: array[float] | None = None
    standing: int = 0  # Tracker.standing after the last report (0: undecided)


class Tracker:
    """Turns reports into the views rules.py reads."""

    def __init__(self, settings: AlertingSettings) -> None:
        self.settings = settings  # (sets _kept too)
        self.tracks: dict[str, Track] = {}
        # Devices whose standing (below) changed since the engine last took this set (observe,
        # radios): only their villages need evaluating again (engine.py: the quiet villages).
        self.touched: set[str] = set()
        # Devices whose every report counts as a change: a village whose ONU joins its verdict
        # reads its routers' newest echoes too (onu_join.py), not only their standing.
        self.eager: frozenset[str] = frozenset()

    @property
    def settings(self) -> AlertingSettings:
        return self._settings

    @settings.setter
    def settings(self, settings: AlertingSettings) -> None:
        self._settings = settings
        self._kept = 3 * max(1, settings.degraded_rounds)  # doubles of the window kept

    def track(self, name: str) -> Track:
        t = self.tracks.get(name)
        if t is None:
            t = self.tracks[name] = Track()
        return t

    def standing(self, t: DeviceView) -> int:
        """What an up or undecided village's or parent's evaluation reads of one device
        (rules.village_verdict without a cause, rules.lossy), as bits: the verdict, and for an
        answering device the radio flag, whether its window is full, and which degraded
        threshold, or half of one (kinds.HOLD_FACTOR: a lossy parent), its window's mean
        passes. A report that leaves it as it was cannot change such an evaluation."""
        up = t.confirmed_up
        if up is None:
            return 0
        if up is False:
            return 1
        s = self._settings
        k = 6 if t.radio_down else 2
        if t.samples >= s.degraded_rounds:  # the same comparisons as rules.village_verdict
            k |= 8
            loss, rtt = t.loss_avg or 0.0, t.rtt_avg or 0.0
            if loss > s.degraded_loss_ratio:
                k |= 16
            if rtt > s.degraded_rtt:
                k |= 32
            if loss > HOLD_FACTOR * s.degraded_loss_ratio:
                k |= 64
            if rtt > HOLD_FACTOR * s.degraded_rtt:
                k |= 128
        return k

    def observe(self, name: str, report: EchoReport) -> bool:
        """Apply one report; True when the verdict changed. The device is touched when its
        standing changed (or it is eager): most rounds of a healthy device change nothing a
        quiet village reads (issue 10: a tick evaluated every village that sent a round)."""
        t = self.tracks.get(name)
        if t is None:
            t = self.tracks[name] = Track()
        seen = report.seen_at
        if seen is not None:
            last = t.seen_at
            if last is None or seen > last:
                t.seen_at = seen
        failing = t.failing = report.failing
        up = report.up
        t.fail_since = report.fail_since if (failing or up is False) else None
        res = report.result
        before = t.confirmed_up
        changed = up is not None and up != before
        if changed:
            if up and before is False:
                t.recovered_at = report.time
                t.back_at = t.seen_at if t.seen_at is not None else report.time
                t.window = None  # the echoes lost while down are no sustained loss
                res = None
            t.confirmed_up = up
        window = t.window
        if res is not None:
            sent = res.sent
            if sent > 0:
                rtt = res.rtt_avg
                received = res.received
                row = (sent, received, rtt * received if rtt else 0.0)
                if window is None:
                    window = t.window = array("d", row)
                else:
                    window.extend(row)
                    over = len(window) - self._kept
                    if over > 0:
                        del window[:over]  # whole rounds: the length is a multiple of 3
        # The summary of the window (_summarise, inline: this runs for every round of every
        # device, issue 10). Strided sums in C; the counts are whole numbers, exact in a
        # double; the RTT sums add in the rounds' order.
        if window:
            t.samples = len(window) // 3
            total = sum(window[0::3])
            replies = sum(window[1::3])
            t.loss_avg = 1.0 - replies / total if total else None
            t.rtt_avg = sum(window[2::3]) / replies if replies else None
        else:
            t.samples = 0
            t.loss_avg = t.rtt_avg = None
        # The standing before is the one kept (a radio flag's change touched on its own).
        standing = self.standing(t)
        if standing != t.standing or changed or name in self.eager:
            t.standing = standing
            self.touched.add(name)
        return changed
