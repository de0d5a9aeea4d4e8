"""Flapping: fire/resolve changes counted per fingerprint (muting.FlappingMuter holds them).

flap_threshold changes within flap_window start an episode (one `flapping` notification
instead of the change's own); it ends after flap_quiet without change.
"""

from __future__ import annotations

from collections import deque

from netwatch.alerting.records import Flap
from netwatch.alerting.seams import EngineStore
from netwatch.core.model import AlertingSettings


class Flapping:
    def __init__(self, settings: AlertingSettings, store: EngineStore) -> None:
        self.settings = settings
        self.store = store
        self.flaps: dict[str, Flap] = {}
        self.changes: dict[str, deque[float]] = {}

    def load(self, now: float) -> None:
        """Episodes and the changes within flap_window, from the database."""
        self.flaps = self.store.flaps()
        self.changes = {}
        for fp, times in self.store.changes_since(now - self.settings.flap_window):
            self.changes.setdefault(fp, deque()).extend(times)

    def __contains__(self, fp: str) -> bool:
        return fp in self.flaps

    def __len__(self) -> int:
        return len(self.flaps)

    def count(self, fp: str) -> int:
        """Changes of fp within the window (the flapping notification says how many)."""
        return len(self.changes.get(fp, ()))

    def record_change(self, fp: str, alert_id: int, now: float) -> bool:
        """Count a fire/resolve; True when it makes the alert start flapping."""
        dq = self.changes.setdefault(fp, deque())
        dq.append(now)
        while dq and dq[0] < now - self.settings.flap_window:
            dq.popleft()
        flap = self.flaps.get(fp)
        if flap is not None:
            flap.last_change = now
            self.store.touch_flap(fp, now)
            return False
        if len(dq) >= self.settings.flap_threshold:
            self.flaps[fp] = Flap(now, now, alert_id)
            self.store.start_flap(fp, self.flaps[fp])
            return True
        return False

    def forget(self, fp: str) -> None:
        """Drop fp's episode and changes (its subject left the inventory)."""
        if self.flaps.pop(fp, None) is not None:
            self.store.end_flap(fp)
        self.changes.pop(fp, None)

    def settle(self, fp: str, now: float) -> bool:
        """End fp's episode if quiet for flap_quiet; True when it ended now."""
        if now - self.flaps[fp].last_change < self.settings.flap_quiet:
            return False
        del self.flaps[fp]
        self.changes.pop(fp, None)
        self.store.end_flap(fp)
        return True
