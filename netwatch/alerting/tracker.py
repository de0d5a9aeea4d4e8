"""Per-device hold-downs: rounds → a confirmed up/down verdict, and the re-checks to ask for."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from netwatch.alerting.rules import DeviceView
from netwatch.core.model import AlertingSettings


@dataclass(slots=True)
class Track(DeviceView):
    fail_run: int = 0
    ok_run: int = 0
    ok_since: float | None = None
    recovered_at: float | None = None  # last down → up verdict
    window: deque[tuple[float, float | None]] = field(default_factory=deque)


class Tracker:
    """Turns rounds into verdicts; returns (device, reason) re-checks for the scheduler."""

    def __init__(self, settings: AlertingSettings) -> None:
        self.settings = settings
        self.tracks: dict[str, Track] = {}

    def track(self, name: str) -> Track:
        t = self.tracks.get(name)
        if t is None:
            t = self.tracks[name] = Track()
        return t

    def observe(
        self, name: str, at: float, sent: int, received: int, rtt_avg: float | None
    ) -> tuple[bool, list[str]]:
        """Apply one round; returns (verdict changed, re-check reasons for this device)."""
        s = self.settings
        t = self.track(name)
        ok = received > 0
        t.last_round_at = at
        t.failing = not ok
        loss = 1.0 if sent == 0 else 1.0 - received / sent
        t.window.append((loss, rtt_avg))
        while len(t.window) > max(1, s.degraded_rounds):
            t.window.popleft()
        t.samples = len(t.window)
        t.loss_avg = sum(x for x, _ in t.window) / t.samples
        rtts = [r for _, r in t.window if r is not None]
        t.rtt_avg = sum(rtts) / len(rtts) if rtts else None
        reasons: list[str] = []
        changed = False
        if not ok:
            t.ok_run, t.ok_since = 0, None
            if t.fail_run == 0:
                t.fail_since = at
            t.fail_run += 1
            if t.confirmed_up is not False:
                assert t.fail_since is not None
                if t.fail_run >= s.down_rounds and at - t.fail_since >= s.down_after:
                    t.confirmed_up = False
                    changed = True
                elif s.confirm:
                    reasons.append("confirm")
        else:
            t.fail_run, t.fail_since = 0, None
            if t.ok_run == 0:
                t.ok_since = at
            t.ok_run += 1
            if t.confirmed_up is not True:
                assert t.ok_since is not None
                if t.ok_run >= s.up_rounds and at - t.ok_since >= s.up_after:
                    if t.confirmed_up is False:
                        t.recovered_at = at
                        # Rounds lost while down would read as sustained loss after recovery.
                        t.window.clear()
                        t.window.append((loss, rtt_avg))
                        t.samples = 1
                        t.loss_avg, t.rtt_avg = loss, rtt_avg
                    t.confirmed_up = True
                    changed = True
                elif s.confirm:
                    reasons.append("confirm")
        return changed, reasons
