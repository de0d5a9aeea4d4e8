"""E-mail through a real SMTP server (aiosmtpd) with STARTTLS and AUTH, in both languages."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch.alerting.notifiers.email import EmailTarget
from netwatch.alerting.types import Event
from netwatch.core.model import SecretRef
from netwatch.core.notifications import ContactList
from tests.alerting.factories import enqueue, make_outbox, notification, settings, village_alert
from tests.helpers.smtp import SmtpServer


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    server = SmtpServer(tmp_path, {"noc": "pa55word"}).start()
    yield server
    server.stop()


def contacts(smtp: SmtpServer, tls: bool = False) -> ContactList:
    target = EmailTarget(
        to=("noc@kominfo.example", "oncall@kominfo.example"),
        host="127.0.0.1",
        port=smtp.port,
        starttls=True,
        tls=tls,
        username="noc",
        password=SecretRef(env="NW_TEST_SMTP_PW"),
        sender="netwatch@kominfo.example",
        ca_file=str(smtp.cert_path),
    )
    return ContactList("noc", (target,))


async def wait_mail(smtp: SmtpServer, count: int) -> list[email.message.EmailMessage]:
    import asyncio

    for _ in range(200):  # bounded: 10 s
        if len(smtp.handler.messages) >= count:
            break
        await asyncio.sleep(0.05)
    assert len(smtp.handler.messages) >= count, "mail did not arrive"
    return [
        email.message_from_bytes(m.content, policy=email.policy.default)
        for m in smtp.handler.messages
    ]


async def test_indonesian_mail(tmp_path: Path, smtp: SmtpServer, running, monkeypatch) -> None:
    monkeypatch.setenv("NW_TEST_SMTP_PW", "pa55word")
    ob = make_outbox(tmp_path, settings(contacts(smtp)))
    running(ob)
    alert = village_alert(cause="power_outage", down_devices=("sarongan-router",))
    enqueue(ob, tmp_path / "alerts.db", notification("m-1", alert=alert))
    (mail,) = await wait_mail(smtp, 1)
    rec = smtp.handler.messages[0]
    assert rec.tls and rec.login == b"noc"
    assert rec.rcpt_tos == ["noc@kominfo.example", "oncall@kominfo.example"]
    assert mail["Subject"] == "[MATI] Sarongan (35.10.01.2001), Kec. Pesanggaran"
    assert mail["X-Netwatch-Notification-Id"] == "m-1"
    body = mail.get_content()
    assert "Wi-Fi desa MATI: Sarongan (35.10.01.2001), Kec. Pesanggaran" in body
    assert "sejak 28 Nov 2026 10:05 WIB" in body
    assert "Perangkat tidak menjawab: sarongan-router." in body
    assert "Dugaan penyebab: listrik padam" in body


async def test_english_resolved_mail(
    tmp_path: Path, smtp: SmtpServer, running, monkeypatch
) -> None:
    monkeypatch.setenv("NW_TEST_SMTP_PW", "pa55word")
    ob = make_outbox(tmp_path, settings(contacts(smtp), language="en"))
    running(ob)
    alert = village_alert(ends_at=village_alert().starts_at + 12 * 60)
    enqueue(ob, tmp_path / "alerts.db", notification("m-2", Event.RESOLVED, alert))
    (mail,) = await wait_mail(smtp, 1)
    assert mail["Subject"] == "[RESOLVED] Sarongan (35.10.01.2001), Pesanggaran"
    body = mail.get_content()
    assert "back to normal at 10:17 WIB — lasted 12 minutes." in body


async def test_wrong_password_is_retried(
    tmp_path: Path, smtp: SmtpServer, running, monkeypatch
) -> None:
    monkeypatch.setenv("NW_TEST_SMTP_PW", "wrong")
    ob = make_outbox(tmp_path, settings(contacts(smtp)))
    running(ob)
    enqueue(ob, tmp_path / "alerts.db", notification("m-3"))
    import asyncio

    for _ in range(100):  # bounded: 5 s
        row = ob._conn.execute("SELECT attempts, last_error FROM outbox").fetchone()
        if row[0] >= 2:
            break
        await asyncio.sleep(0.05)
    assert row[0] >= 2 and "authentication failed: 535" in row[1]
    assert smtp.handler.messages == []
    monkeypatch.setenv("NW_TEST_SMTP_PW", "pa55word")  # the operator fixes the secret
    (mail,) = await wait_mail(smtp, 1)
    assert mail["X-Netwatch-Notification-Id"] == "m-3"


# aiosmtpd cannot tell that an implicit-TLS session is encrypted, so it warns about AUTH.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_implicit_tls(tmp_path: Path, running, monkeypatch) -> None:
    monkeypatch.setenv("NW_TEST_SMTP_PW", "pa55word")
    smtp = SmtpServer(tmp_path, {"noc": "pa55word"}, implicit_tls=True).start()
    try:
        ob = make_outbox(tmp_path, settings(contacts(smtp, tls=True)))
        running(ob)
        enqueue(ob, tmp_path / "alerts.db", notification("m-4"))
        (mail,) = await wait_mail(smtp, 1)
        assert mail["Subject"] == "[MATI] Sarongan (35.10.01.2001), Kec. Pesanggaran"
        assert smtp.handler.messages[0].login == b"noc"
    finally:
        smtp.stop()
