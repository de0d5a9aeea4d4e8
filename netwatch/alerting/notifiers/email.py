"""E-mail over SMTP (smtplib in a worker thread): STARTTLS and AUTH optional, plain text."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from netwatch.alerting.notifiers.base import Context, DeliveryError, Rejected, secret
from netwatch.alerting.types import Notification


def build(ctx: Context, target: dict[str, Any], n: Notification, delivery_id: str) -> EmailMessage:
    msg = ctx.message(n)
    mail = EmailMessage()
    mail["Subject"] = msg.subject
    mail["From"] = target["sender"]
    mail["To"] = ", ".join(target["to"])
    mail["Date"] = formatdate(n.created_at, localtime=False)
    # Stable per delivery: a re-send after a crash carries the same Message-ID (mail dedups).
    mail["Message-ID"] = f"<{delivery_id}@netwatch>"
    mail["X-Netwatch-Notification-Id"] = n.id
    mail.set_content(msg.text)
    return mail


def _send(target: dict[str, Any], mail: EmailMessage, password: str | None, timeout: float) -> None:
    context = ssl.create_default_context(cafile=target.get("ca_file"))
    host, port = target["host"], int(target["port"])
    if target.get("tls"):
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client as smtp:
        smtp.ehlo()
        if target.get("starttls") and not target.get("tls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        if target.get("username"):
            smtp.login(target["username"], password or "")
        smtp.send_message(mail)


class EmailNotifier:
    name = "email"

    async def send(
        self, ctx: Context, target: dict[str, Any], n: Notification, delivery_id: str
    ) -> None:
        password = secret(target.get("password"))
        mail = build(ctx, target, n, delivery_id)
        where = f"smtp {target['host']}:{target['port']}"
        try:
            await asyncio.to_thread(_send, target, mail, password, ctx.timeout)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"{where}: authentication failed: {exc.smtp_code}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise Rejected(f"{where}: recipients refused: {sorted(exc.recipients)}") from None
        except smtplib.SMTPResponseException as exc:
            text = f"{where}: {exc.smtp_code} {exc.smtp_error!r}"
            raise (Rejected if exc.smtp_code >= 500 else DeliveryError)(text) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from None
