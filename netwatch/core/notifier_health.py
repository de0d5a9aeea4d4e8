"""Notifiers that cannot run: a secret that cannot be read, or deliveries stuck for long.

Checked by the runtime (at start, on reload and every CHECK_EVERY seconds) from the settings
and from the outbox table of the alert database, read-only: a notifier that cannot deliver
becomes a fault of `notifier_<name>` on /readyz and in netwatch_component_up, while the
outbox keeps retrying it.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

from netwatch.core.model import NotificationSettings, SecretRef

NOTIFIERS = ("alertmanager", "webhook", "telegram", "email")
CHECK_EVERY = 30.0
STUCK_AFTER = 600.0  # seconds a notification may wait with failed attempts before it is a fault


def _refs(settings: NotificationSettings) -> Iterator[tuple[str, str, SecretRef]]:
    for c in settings.contacts:
        for i, w in enumerate(c.webhook):
            if w.secret is not None:
                yield "webhook", f"contacts {c.name}: webhook[{i}].secret", w.secret
        for i, t in enumerate(c.telegram):
            yield "telegram", f"contacts {c.name}: telegram[{i}].token", t.token
        for i, e in enumerate(c.email):
            if e.password is not None:
                yield "email", f"contacts {c.name}: email[{i}].password", e.password


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
