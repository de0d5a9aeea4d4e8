"""A delivering process for the durability test: python -m tests.alerting.outbox_worker.

Usage: outbox_worker DB WEBHOOK_URL [before|after NOTIFICATION_ID]. With a kill point it
SIGKILLs itself just before sending, or just after sending and before the outbox marks the
row delivered: the two crash windows of the outbox.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

from netwatch.alerting.notifiers.webhook import WebhookNotifier, WebhookTarget
from netwatch.alerting.outbox import Outbox
from netwatch.core.notifications import ContactList
from tests.alerting.factories import settings


class KillingWebhook(WebhookNotifier):
    def __init__(self, point: str | None, victim: str | None) -> None:
        super().__init__()
        self.point, self.victim = point, victim

    async def send(self, ctx: Any, target: dict[str, Any], n: Any, delivery_id: str) -> None:
        if self.point == "before" and n.id == self.victim:
            os.kill(os.getpid(), signal.SIGKILL)
        await super().send(ctx, target, n, delivery_id)
        if self.point == "after" and n.id == self.victim:
            os.kill(os.getpid(), signal.SIGKILL)


def outbox_settings(url: str):
    from dataclasses import replace

    s = settings(ContactList("noc", (WebhookTarget(url=url),)))
    return replace(s, delivery=replace(s.delivery, concurrency=1))


async def main(db: str, url: str, point: str | None, victim: str | None) -> None:
    ob = Outbox(db, outbox_settings(url), notifiers={"webhook": KillingWebhook(point, victim)})
    print("ready", flush=True)
    await asyncio.wait_for(ob.run(), 60)  # bounded: the test kills or stops it long before


if __name__ == "__main__":
    args = [*sys.argv[1:], None, None]
    asyncio.run(main(args[0], args[1], args[2], args[3]))
