"""Notifiers: one module per destination, all with one `send` shape (see base.Notifier)."""

from __future__ import annotations

from netwatch.alerting.notifiers.alertmanager import AlertmanagerNotifier
from netwatch.alerting.notifiers.base import Context, DeliveryError, Notifier, Rejected
from netwatch.alerting.notifiers.email import EmailNotifier
from netwatch.alerting.notifiers.telegram import TelegramNotifier
from netwatch.alerting.notifiers.webhook import WebhookNotifier


def default_notifiers() -> dict[str, Notifier]:
    return {
        n.name: n
        for n in (AlertmanagerNotifier(), WebhookNotifier(), TelegramNotifier(), EmailNotifier())
    }


__all__ = ["Context", "DeliveryError", "Notifier", "Rejected", "default_notifiers"]
