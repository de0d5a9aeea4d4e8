"""Direct notifiers in a cluster: with two replicas of a shard each would send every message.

Alertmanager deduplicates what both replicas post (its fingerprint is the label set); a
Telegram chat, a mailbox or a webhook does not. So with `settings.cluster.replicas` above 1 a
direct target needs `settings.cluster.etcd` (a lease picks the one replica that sends); without
it the target is refused at its own line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netwatch.config.errors import Issues
from netwatch.config.nodes import Loc
from netwatch.core.model import Settings


def deduplicating_notifiers() -> frozenset[str]:
    """Notifiers whose receiver merges what several replicas post (Alertmanager)."""
    from netwatch.alerting.notifiers import plugins
    from netwatch.alerting.notifiers.base import Reposting

    return frozenset(n for n, p in plugins().items() if issubclass(p.notifier, Reposting))


def check_direct_notifiers(
    root: Mapping[str, Any], top: Loc, settings: Settings, issues: Issues
) -> None:
    """Refuse direct targets of a config with several replicas and no etcd, at their lines."""
    cluster = settings.cluster
    if cluster.replicas < 2 or cluster.etcd is not None:
        return
    raw = root.get("settings")
    if not isinstance(raw, Mapping):
        return
    notifications = raw.get("notifications")
    if not isinstance(notifications, Mapping):
        return
    contacts = notifications.get("contacts")
    if not isinstance(contacts, list):
        return
    loc = top.key(root, "settings").key(raw, "notifications").key(notifications, "contacts")
    safe = deduplicating_notifiers()
    for i, contact in enumerate(contacts):
        if not isinstance(contact, Mapping):
            continue
        cloc = loc.item(contacts, i)
        for key, items in contact.items():
            if key == "name" or key in safe or not isinstance(items, list):
                continue
            kloc = cloc.key(contact, key)
            for j in range(len(items)):
                issues.at(
                    kloc.item(items, j),
                    f"{key} sends directly: with settings.cluster.replicas {cluster.replicas} "
                    "every replica would send each message; add settings.cluster.etcd (a "
                    "lease picks one sender per shard) or send through Alertmanager (its "
                    "receivers deliver to Telegram, e-mail and webhooks)",
                )
