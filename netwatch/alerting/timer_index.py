"""Which open alerts a tick must hand to Lifecycle.timers (issue 10: a mass outage).

timers() does something to a notified alert only when its escalation or reminder is due, and
to a held one (FIRING not sent) only when a muter's answer may have changed. Looking at all
25,000 alerts of a mass outage every tick cost most of a core; this index names the ones that
may have something to do: those due by time, those held under a parent whose standing changed
or whose grace (dependency_grace after a return or a lossy spell) ran out, the inhibition's
targets, the alerts something happened to in the tick, and every one after a reload, an edit
by the CLI (acknowledgements, silences) or while a silence is not over. Looking at an alert with
nothing to do is harmless (timers decides again), so every estimate here errs early.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from netwatch.alerting.records import OpenAlert
from netwatch.core.model import AlertingSettings


def next_due(alert: OpenAlert, settings: AlertingSettings) -> float | None:
    """When a notified alert's escalation or reminder is due (lifecycle.timers' arithmetic)."""
    if alert.notified_at is None:
        return None
    due: list[float] = []
    if settings.escalate_after > 0 and alert.escalation_level == 0:
        due.append(alert.notified_at + settings.escalate_after)
    if settings.renotify_interval > 0:
        due.append((alert.last_notified_at or alert.notified_at) + settings.renotify_interval)
    return min(due, default=None)


class TimerIndex:
    def __init__(self, settings: AlertingSettings) -> None:
        self.settings = settings
        self._due: list[tuple[float, str]] = []  # heap of (when, fingerprint)
        self._due_at: dict[str, float] = {}  # the heap entry that counts, per fingerprint
        self._under: dict[str, set[str]] = {}  # parent device → held alerts below it (lazy)
        # heap: (a grace ends, (parent, whose)); one end per parent and muter that counts
        self._graces: list[tuple[float, tuple[str, str]]] = []
        self._grace_at: dict[tuple[str, str], float] = {}
        self.always: set[str] = set()  # inhibition targets: inhibited() is asked every tick
        self.sweep = True  # every open alert at the next tick (load, reload, CLI edits)

    def reset(self) -> None:
        """Forget what a look at every open alert indexes again (the next tick's). The graces
        are kept: they come from a parent's return or lossy spell, which no look at an alert
        tells again (a reload forgot them: an alert held below a parent back just before it
        stayed held past the grace, until that parent's standing changed again)."""
        self._due, self._due_at, self._under = [], {}, {}
        self.always = set()
        self.sweep = True

    def note(self, alert: OpenAlert, parents: Iterable[str], target: bool) -> None:
        """After timers or a notification: when alert needs a look again. parents: its
        subject's (muting.Subject.parents); target: the inhibition may hold it."""
        fp = alert.fingerprint
        if target:
            self.always.add(fp)
        if alert.notified_at is None:
            for p in parents:
                self._under.setdefault(p, set()).add(fp)
            return
        when = next_due(alert, self.settings)
        if when is not None and self._due_at.get(fp) != when:
            self._due_at[fp] = when
            heapq.heappush(self._due, (when, fp))

    def grace(self, parent: str, ends: float, whose: str = "") -> None:
        """A muter (whose) holds alerts below parent until ends (then they are looked at
        again). Each muter's end counts: a lossy spell noted later must not hide the end of
        the parent's return, when what the return held goes out."""
        key = (parent, whose)
        if self._grace_at.get(key) != ends:
            self._grace_at[key] = ends
            heapq.heappush(self._graces, (ends, key))

    def ended(self, now: float) -> set[str]:
        """The parents whose grace ended by now, each grace told once. A tick that looks at
        every open alert calls it too: the graces kept across reloads would pile up (a lossy
        parent notes a new end at every evaluation)."""
        parents: set[str] = set()
        graces = self._graces
        while graces and graces[0][0] <= now:
            when, key = heapq.heappop(graces)
            if self._grace_at.get(key) == when:
                del self._grace_at[key]
                parents.add(key[0])
        return parents

    def due(
        self, now: float, touched: Iterable[str], open_alerts: dict[str, OpenAlert]
    ) -> set[str]:
        """The open alerts to look at now: due by time, held below a parent that changed or
        whose grace ended, and the inhibition's targets."""
        out: set[str] = set()
        heap = self._due
        while heap and heap[0][0] <= now:
            when, fp = heapq.heappop(heap)
            if self._due_at.get(fp) == when:
                del self._due_at[fp]
                if fp in open_alerts:
                    out.add(fp)
        parents = set(touched) | self.ended(now)
        for p in parents:
            below = self._under.get(p)
            if not below:
                continue
            for fp in list(below):
                a = open_alerts.get(fp)
                if a is None or a.notified_at is not None:
                    below.discard(fp)  # resolved or sent: no longer held below p
                else:
                    out.add(fp)
        for fp in list(self.always):
            if fp in open_alerts:
                out.add(fp)
            else:
                self.always.discard(fp)
        return out
