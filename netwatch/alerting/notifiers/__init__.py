"""Notifiers: one module per destination, each owning its typed target (see base.Notifier).

A module here that defines TARGET (its contact-list entry class) and NOTIFIER (a class whose
instances send) is a notifier: adding one is adding a module (and its section in
docs/alerting.md). The contact-list key and the notifier's name are TARGET.notifier.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass

from netwatch.alerting.notifiers.base import Context, DeliveryError, Notifier, Rejected
from netwatch.core.notifications import NotifierTarget

_NOT_NOTIFIERS = frozenset({"base"})


@dataclass(frozen=True, slots=True)
class Plugin:
    name: str
    target: type[NotifierTarget]
    notifier: type[Notifier]


@functools.cache
def plugins() -> dict[str, Plugin]:
    """Every notifier module of this package, by name (sorted: a stable config-key order)."""
    found: dict[str, Plugin] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _NOT_NOTIFIERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        target, notifier = getattr(module, "TARGET", None), getattr(module, "NOTIFIER", None)
        if target is None or notifier is None:
            raise ImportError(f"{module.__name__} defines no TARGET and NOTIFIER")
        found[target.notifier] = Plugin(target.notifier, target, notifier)
    return found


def target_types() -> dict[str, type[NotifierTarget]]:
    """Contact-list key → target class (what the config loader builds)."""
    return {name: p.target for name, p in plugins().items()}


def default_notifiers() -> dict[str, Notifier]:
    return {name: p.notifier() for name, p in plugins().items()}


__all__ = [
    "Context",
    "DeliveryError",
    "Notifier",
    "Plugin",
    "Rejected",
    "default_notifiers",
    "plugins",
    "target_types",
]
