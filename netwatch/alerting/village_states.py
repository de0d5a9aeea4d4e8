"""Village service state as recorded (history intervals) and as shown (maintenance overlay)."""

from __future__ import annotations

from netwatch.alerting.rules import ServiceState
from netwatch.alerting.seams import EngineStore


class VillageStates:
    def __init__(self, store: EngineStore) -> None:
        self.store = store
        self.recorded: dict[str, ServiceState] = {}  # village → last recorded state
        self.shown: dict[str, ServiceState] = {}  # village → state shown (maintenance overlay)
        self.version = 0  # changes whenever recorded or shown does (the snapshot copies them)

    def load(self) -> None:
        self.recorded = {v: ServiceState(s) for v, s in self.store.current_states().items()}
        self.version += 1

    def update(self, code: str, state: ServiceState, window: str | None, now: float) -> None:
        """A decided verdict: record a change (unknown is never recorded), show the state."""
        if state is not ServiceState.UNKNOWN and state != self.recorded.get(code):
            self.store.record_state(code, str(state), now, window is not None)
            self.recorded[code] = state
            self.version += 1
        shown = ServiceState.MAINTENANCE if window else state
        if self.shown.get(code) != shown:
            self.shown[code] = shown
            self.version += 1
