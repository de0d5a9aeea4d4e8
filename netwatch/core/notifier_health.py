"""Notifiers that cannot run: a secret that cannot be read, or deliveries stuck for long.

Checked by the runtime (at start, on reload and every CHECK_EVERY seconds) from the settings
and from the outbox table of the alert database, read-only: a notifier that cannot deliver
becomes a fault of `notifier_<name>` on /readyz and in netwatch_component_up, while the
outbox keeps retrying it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator

from netwatch.core.health import Health
from netwatch.core.model import SecretRef, Settings
from netwatch.core.notifications import NotificationSettings
from netwatch.core.ticks import sleep_to_tick

log = logging.getLogger(__name__)

CHECK_EVERY = 30.0
STUCK_AFTER = 600.0  # seconds a notification may wait with failed attempts before it is a fault


def _refs(settings: NotificationSettings) -> Iterator[tuple[str, str, SecretRef]]:
    """Every secret reference of every target: a target's fields, whatever its notifier."""
    for c in settings.contacts:
        counts: dict[str, int] = {}
        for target in c.targets:
            notifier = target.notifier
            i = counts[notifier] = counts.get(notifier, -1) + 1
            for f in dataclasses.fields(target):  # type: ignore[arg-type]
                ref = getattr(target, f.name)
                if isinstance(ref, SecretRef):
                    yield notifier, f"contacts {c.name}: {notifier}[{i}].{f.name}", ref


def secret_faults(settings: NotificationSettings) -> dict[str, str]:
    """notifier → why it cannot run, for every secret reference that cannot be read now."""
    faults: dict[str, str] = {}
    for notifier, where, ref in _refs(settings):
        try:
            ref.resolve()
        except KeyError as exc:
            faults.setdefault(notifier, f"{where}: {exc.args[0]}")
        except OSError as exc:
            faults.setdefault(notifier, f"{where}: {exc.filename}: {exc.strerror}")
    return faults


def stuck_faults(db_path: str, now: float | None = None) -> dict[str, str]:
    """notifier → why, for notifications failing for longer than STUCK_AFTER (read-only)."""
    now = time.time() if now is None else now
    uri = f"file:{db_path}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=1.0)
    except sqlite3.Error:
        return {}  # the alert store's own fault says why
    try:
        rows = conn.execute(
            "SELECT notifier, count(*), min(created_at) FROM outbox"
            " WHERE delivered_at IS NULL AND dropped_at IS NULL AND attempts > 0"
            " AND created_at < ? GROUP BY notifier",
            (now - STUCK_AFTER,),
        ).fetchall()
        faults = {}
        for notifier, count, oldest in rows:
            (error,) = conn.execute(
                "SELECT last_error FROM outbox WHERE notifier = ? AND delivered_at IS NULL"
                " AND dropped_at IS NULL AND attempts > 0 ORDER BY created_at LIMIT 1",
                (notifier,),
            ).fetchone()
            minutes = (now - oldest) / 60
            faults[notifier] = (
                f"{count} notification(s) undelivered for {minutes:.0f} min; last error: "
                f"{(error or '?')[:300]}"
            )
        return faults
    except sqlite3.Error:
        return {}
    finally:
        conn.close()


class NotifierWatch:
    """Keeps the `notifier_<name>` faults of a Health true to the settings and the outbox."""

    def __init__(self, health: Health, settings: Callable[[], Settings]) -> None:
        self.health = health
        self._settings = settings

    def faults(self) -> dict[str, str]:
        """notifier → why it cannot run now (reads the alert database: call off the loop)."""
        settings = self._settings()
        faults = secret_faults(settings.notifications)
        for name, why in stuck_faults(settings.alerting.db_path).items():
            faults.setdefault(name, why)
        return faults

    def check(self, faults: dict[str, str] | None = None) -> None:
        """Apply faults (read now when None): new ones fail, cleared ones recover."""
        if faults is None:
            faults = self.faults()
        known = {
            c.removeprefix("notifier_") for c in self.health.faults if c.startswith("notifier_")
        }
        for name in sorted(set(faults) | known):
            component = f"notifier_{name}"
            if name in faults:
                self.health.fail(component, faults[name])
            elif component in self.health.faults:
                self.health.ok(component)

    async def run(self) -> None:
        """Check every CHECK_EVERY seconds until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            await sleep_to_tick(CHECK_EVERY)  # on the grid of loop time: a shared turn
            try:
                # The database read in a thread; the faults are applied on the loop.
                self.check(await loop.run_in_executor(None, self.faults))
            except Exception:  # the watch must outlive a bug in one check
                log.exception("notifier check failed")
