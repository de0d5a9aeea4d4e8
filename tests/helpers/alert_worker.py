"""A monitoring process for kill -9 tests: scheduler + pinger + alerting on a village lab.

    ip netns exec CORE python -m tests.helpers.alert_worker '{"db": ..., "webhook": ..., ...}'

Runs until killed. The inventory is the one tests.helpers.village_lab.District builds.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from netwatch.alerting.notifiers.webhook import WebhookTarget
from netwatch.core.model import AlertingSettings, PingSettings
from netwatch.core.notifications import ContactList, DeliverySettings, NotificationSettings
from netwatch.core.scheduler import Scheduler
from netwatch.core.state import State
from tests.helpers import regency
from tests.helpers.village_lab import District, ping_collector


async def main(cfg: dict) -> None:
    from netwatch.alerting.service import AlertService
    from netwatch.collectors.icmp import Pinger

    notify = NotificationSettings(
        contacts=(ContactList("oncall", (WebhookTarget(cfg["webhook"]),)),),
        default_contacts="oncall",
        delivery=DeliverySettings(min_backoff=0.2, max_backoff=0.5, poll_interval=0.1),
    )
    ping = PingSettings(interval=1.0, count=5, spacing=0.05, timeout=0.3)
    alerting = AlertingSettings(
        db_path=cfg["db"], tick=0.2, renotify_interval=0, escalate_after=0, traceroute=False
    )
    inv = regency.build(
        districts=1,
        villages=cfg["villages"],
        settings=alerting,
        address_of=District.address,
        ping=ping,
        notifications=notify,
    )
    pinger = Pinger.open()
    state = State(inv)
    scheduler = Scheduler([ping_collector(pinger, inv)], state.record)  # type: ignore[list-item]
    service = AlertService.create(inv, state, scheduler.request_poll, tracer=None)
    scheduler.start(inv)
    await service.start()
    print("ready", flush=True)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(json.loads(sys.argv[1])))
