"""Routing at enqueue time: a notification → the receivers that must get it (one row each).

Generic over notifiers: a contact list holds targets, each target says which events it takes
and which receivers it stands for (netwatch/alerting/notifiers/<name>.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from netwatch.alerting.types import Event, Notification
from netwatch.core.notifications import (
    ContactList,
    JSONObject,
    NotificationRoute,
    NotificationSettings,
)


@dataclass(frozen=True, slots=True)
class Receiver:
    """One destination: notifier name + its JSON target (secrets only by reference)."""

    notifier: str
    target: JSONObject
    where: str = field(default="?", compare=False)  # for logs, never a secret

    @property
    def key(self) -> str:
        """The stored form (outbox.receiver); its hash is part of the row id."""
        return json.dumps({"notifier": self.notifier, **self.target}, sort_keys=True)

    @property
    def label(self) -> str:
        """Short human name for logs (never a secret)."""
        return f"{self.notifier}:{self.where}"


def expand(contacts: ContactList, event: Event) -> list[Receiver]:
    out: list[Receiver] = []
    for target in contacts.targets:
        if target.events is not None and event.value not in target.events:
            continue
        out += [Receiver(target.notifier, d.data, d.where) for d in target.destinations()]
    return out


def _matches(route: NotificationRoute, n: Notification) -> bool:
    labels = n.alert.labels
    if route.districts and labels.get("district") not in route.districts:
        return False
    return not (route.severities and labels.get("severity") not in route.severities)


def route(n: Notification, settings: NotificationSettings) -> list[Receiver]:
    """Receivers for n: routes in order, first match wins unless continue_routing."""
    lists = {c.name: c for c in settings.contacts}
    escalate = n.event is Event.ESCALATION or n.escalation_level >= 1
    names: list[str] = []
    for r in settings.routes:
        if not _matches(r, n):
            continue
        names.append(r.escalation if escalate and r.escalation else r.contacts)
        if not r.continue_routing:
            break
    if not names and settings.default_contacts:
        names.append(settings.default_contacts)
    seen: set[str] = set()
    out: list[Receiver] = []
    for name in names:
        contacts = lists.get(name)
        if contacts is None:  # validated at load; a reload race must not lose the rest
            continue
        for rcv in expand(contacts, n.event):
            if rcv.key not in seen:
                seen.add(rcv.key)
                out.append(rcv)
    return out
