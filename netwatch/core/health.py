"""Parts that must run (alert store, trap listener, InfluxDB spool, notifiers) and their faults.

A failing part makes /readyz answer 503 with the reason, sets `netwatch_component_up` to 0
(the shipped rules alert on it) and is logged with its cause once, then at most every
LOG_EVERY seconds while it keeps failing: never quiet, never a log flood.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

from prometheus_client import Counter, Gauge

from netwatch.core.telemetry import REGISTRY

log = logging.getLogger("netwatch.health")

LOG_EVERY = 300.0  # seconds between repeats of the same fault in the log

COMPONENT_UP = Gauge(
    "netwatch_component_up",
    "1 if the part runs, 0 if it cannot (the reason is on /readyz and in the log); parts: "
    "alert_store, trap_listener, influxdb_spool, notifier_<name>.",
    ["component"],
    registry=REGISTRY,
)
COMPONENT_FAILURES = Counter(
    "netwatch_component_failures_total",
    "Failed attempts to start or run a part (each is retried), by component.",
    ["component"],
    registry=REGISTRY,
)


class RateLimitedLog:
    """Log a message per key at most once every `every` seconds, counting the rest."""

    def __init__(self, every: float = LOG_EVERY, clock: Callable[[], float] = time.monotonic):
        self.every = every
        self._clock = clock
        self._last: dict[str, tuple[float, int]] = {}

    def __call__(self, logger: logging.Logger, level: int, key: str, msg: str, *args: object):
        now = self._clock()
        last, suppressed = self._last.get(key, (float("-inf"), 0))
        if now - last < self.every:
            self._last[key] = (last, suppressed + 1)
            return
        if suppressed:
            msg += f" ({suppressed} more since the last report)"
        self._last[key] = (now, 0)
        logger.log(level, msg, *args)

    def forget(self, key: str) -> None:
        self._last.pop(key, None)


class RateLimitFilter(logging.Filter):
    """A logging filter passing each message template at most once every `every` seconds."""

    def __init__(self, every: float = 60.0) -> None:
        super().__init__()
        self._limit = RateLimitedLog(every)

    def filter(self, record: logging.LogRecord) -> bool:
        now = self._limit._clock()
        key = f"{record.name}:{record.msg}"
        last, suppressed = self._limit._last.get(key, (float("-inf"), 0))
        if now - last < self._limit.every:
            self._limit._last[key] = (last, suppressed + 1)
            return False
        if suppressed:
            record.msg = f"{record.msg} ({suppressed} more like this not logged)"
        if len(self._limit._last) > 1000:
            self._limit._last.clear()
        self._limit._last[key] = (now, 0)
        return True


class Health:
    """The faults of a runtime's parts: component → reason."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.faults: dict[str, str] = {}
        self._since: dict[str, float] = {}  # when each failing part's current fault began
        self._clock = clock
        # Not reset by a recovery: a part that flaps between running and failing must not
        # log a line per flap (the spool on a nearly full disk: 136 lines in 90 s, 3 Dec).
        self._log = RateLimitedLog(clock=clock)

    def fail(self, component: str, reason: str) -> None:
        """Record (and log, rate-limited) that component cannot run, and why."""
        if component not in self.faults:
            self._since[component] = self._clock()
        self.faults[component] = reason
        COMPONENT_UP.labels(component).set(0)
        COMPONENT_FAILURES.labels(component).inc()
        self._log(log, logging.ERROR, component, "%s not running: %s", component, reason)

    def ok(self, component: str) -> None:
        """Record that component runs; logs the recovery of a part that had failed, once,
        with how long it failed (the rate limit of its fault lines goes on)."""
        reason = self.faults.pop(component, None)
        if reason is not None:
            failed_for = self._clock() - self._since.pop(component, self._clock())
            log.warning(
                "%s running again after %.0f s not running (%s)", component, failed_for, reason
            )
        COMPONENT_UP.labels(component).set(1)

    def forget(self, component: str) -> None:
        """The part is no longer configured: no fault, no series."""
        self.faults.pop(component, None)
        self._since.pop(component, None)
        self._log.forget(component)
        with contextlib.suppress(KeyError):
            COMPONENT_UP.remove(component)
