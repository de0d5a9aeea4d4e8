"""Generic webhook: HMAC-SHA256 signature checked with the stdlib, retries, no duplicates."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import time
from pathlib import Path

import pytest
from aiohttp import web

from netwatch.alerting.notifiers.webhook import WebhookTarget
from netwatch.alerting.types import Event
from netwatch.core.model import SecretRef
from netwatch.core.notifications import ContactList
from netwatch.core.telemetry import REGISTRY
from tests.alerting.factories import enqueue, make_outbox, notification, settings
from tests.helpers.http_sink import HttpSink

SECRET = "s3cr3t-webhook-key"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "webhook.secret"
    path.write_text(SECRET + "\n")
    return path


def contacts(url: str, secret_file: Path) -> ContactList:
    target = WebhookTarget(url=url, secret=SecretRef(file=str(secret_file)))
    return ContactList("noc", (target,))


async def test_signed_body(tmp_path: Path, sink: HttpSink, secret_file: Path, running) -> None:
    ob = make_outbox(tmp_path, settings(contacts(f"{sink.url}/hook", secret_file)))
    running(ob)
    before = time.time()
    enqueue(ob, tmp_path / "alerts.db", notification("n-42"))
    (req,) = await sink.wait_for(lambda rs: len(rs) == 1)
    expected = hmac.new(SECRET.encode(), req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-Netwatch-Signature"] == f"sha256={expected}"
    assert req.headers["X-Netwatch-Notification-Id"] == "n-42"
    stamp = int(req.headers["X-Netwatch-Timestamp"])
    assert int(before) <= stamp <= time.time()
    body = req.json()
    assert body["sent_at"] == stamp  # the timestamp is inside the signed body
    assert body["id"] == "n-42"
    assert body["event"] == "firing"
    assert body["alert"]["labels"]["village"] == "35.10.01.2001"
    assert body["alert"]["starts_at"] == "2026-11-28T03:05:00.000Z"
    assert body["text"].startswith("🔴 Wi-Fi desa MATI: Sarongan (35.10.01.2001)")
    # A tampered body fails the receiver's check.
    forged = hmac.new(SECRET.encode(), req.body + b" ", hashlib.sha256).hexdigest()
    assert forged != expected


async def test_retries_on_500_then_no_duplicate(
    tmp_path: Path, sink: HttpSink, secret_file: Path, running
) -> None:
    def flaky(req):
        return web.Response(status=500 if len(sink.requests) <= 2 else 200)

    sink.responder = flaky
    sent_before = REGISTRY.get_sample_value(
        "netwatch_notifications_sent_total", {"notifier": "webhook"}
    )
    ob = make_outbox(tmp_path, settings(contacts(f"{sink.url}/hook", secret_file)))
    running(ob)
    enqueue(ob, tmp_path / "alerts.db", notification("n-1"))
    reqs = await sink.wait_for(lambda rs: len(rs) >= 3)
    await asyncio.sleep(1.5)  # > 3 max backoffs: a 4th request would have come by now
    assert len(reqs) == 3
    assert {r.headers["X-Netwatch-Notification-Id"] for r in reqs} == {"n-1"}
    gaps = [b.time - a.time for a, b in itertools.pairwise(reqs)]
    assert all(g >= 0.05 for g in gaps)  # backoff: min_backoff 0.1 with half jitter
    sent_after = REGISTRY.get_sample_value(
        "netwatch_notifications_sent_total", {"notifier": "webhook"}
    )
    assert sent_after - (sent_before or 0) == 1
    # Enqueueing the same notification again (an engine retry) sends nothing more.
    assert enqueue(ob, tmp_path / "alerts.db", notification("n-1")) == 0
    await asyncio.sleep(0.3)
    assert len(sink.requests) == 3


async def test_rejected_is_dropped_not_retried(
    tmp_path: Path, sink: HttpSink, secret_file: Path, running
) -> None:
    sink.responder = lambda req: web.Response(status=400, text="bad payload")
    ob = make_outbox(tmp_path, settings(contacts(f"{sink.url}/hook", secret_file)))
    running(ob)
    enqueue(ob, tmp_path / "alerts.db", notification("n-9", Event.RESOLVED))
    await sink.wait_for(lambda rs: len(rs) == 1)
    await asyncio.sleep(0.8)
    assert len(sink.requests) == 1
    (err,) = ob._conn.execute("SELECT last_error FROM outbox WHERE dropped_at IS NOT NULL")
    assert "HTTP 400" in err[0]
