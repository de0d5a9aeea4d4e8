"""E-mail over SMTP (smtplib in a worker thread): STARTTLS and AUTH optional, plain text."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import ClassVar

from netwatch.alerting.notifiers.base import (
    Context,
    DeliveryError,
    Rejected,
    ref_from_json,
    ref_json,
    secret,
    text,
)
from netwatch.alerting.types import Notification
from netwatch.core.model import SecretRef
from netwatch.core.notifications import Destination, JSONObject, JSONValue


@dataclass(frozen=True, slots=True)
class EmailTarget:
    """`email: [{to, host, ...}]`: one mail to all `to` addresses per notification."""

    notifier: ClassVar[str] = "email"
    events: ClassVar[frozenset[str] | None] = None
    shorthand: ClassVar[str | None] = None

    to: tuple[str, ...]
    host: str
    port: int = 587
    starttls: bool = True
    tls: bool = False  # implicit TLS from the first byte (port 465); starttls is then ignored
    username: str | None = None
    password: SecretRef | None = None
    sender: str = "netwatch@localhost"
    ca_file: str | None = None  # extra CA to trust for STARTTLS (a private mail server)

    def problems(self) -> list[str]:
        return [] if self.to else ["email without recipients"]

    def destinations(self) -> list[Destination]:
        data: JSONObject = {
            "to": list[JSONValue](self.to),
            "host": self.host,
            "port": self.port,
            "starttls": self.starttls,
            "tls": self.tls,
            "username": self.username,
            "password": ref_json(self.password),
            "sender": self.sender,
            "ca_file": self.ca_file,
        }
        return [Destination(data, ",".join(self.to))]

    @classmethod
    def from_json(cls, data: JSONObject) -> EmailTarget:
        to, port, user, ca = (
            data["to"],
            data.get("port", 587),
            data.get("username"),
            data.get("ca_file"),
        )
        return cls(
            to=tuple(str(a) for a in to) if isinstance(to, list) else (),
            host=text(data, "host"),
            port=int(port) if isinstance(port, int | str) else 587,
            starttls=bool(data.get("starttls", True)),
            tls=bool(data.get("tls", False)),
            username=user if isinstance(user, str) else None,
            password=ref_from_json(data.get("password")),
            sender=text(data, "sender"),
            ca_file=ca if isinstance(ca, str) else None,
        )


def build(ctx: Context, target: EmailTarget, n: Notification, delivery_id: str) -> EmailMessage:
    msg = ctx.message(n)
    mail = EmailMessage()
    mail["Subject"] = msg.subject
    mail["From"] = target.sender
    mail["To"] = ", ".join(target.to)
    mail["Date"] = formatdate(n.created_at, localtime=False)
    # Stable per delivery: a re-send after a crash carries the same Message-ID (mail dedups).
    mail["Message-ID"] = f"<{delivery_id}@netwatch>"
    mail["X-Netwatch-Notification-Id"] = n.id
    mail.set_content(msg.text)
    return mail


def _send(target: EmailTarget, mail: EmailMessage, password: str | None, timeout: float) -> None:
    context = ssl.create_default_context(cafile=target.ca_file)
    client: smtplib.SMTP
    if target.tls:
        client = smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=timeout)
    with client as smtp:
        smtp.ehlo()
        if target.starttls and not target.tls:
            smtp.starttls(context=context)
            smtp.ehlo()
        if target.username:
            smtp.login(target.username, password or "")
        smtp.send_message(mail)


class EmailNotifier:
    name = "email"

    async def send(
        self, ctx: Context, target: JSONObject, n: Notification, delivery_id: str
    ) -> None:
        t = EmailTarget.from_json(target)
        password = secret(t.password)
        mail = build(ctx, t, n, delivery_id)
        where = f"smtp {t.host}:{t.port}"
        try:
            await asyncio.to_thread(_send, t, mail, password, ctx.timeout)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"{where}: authentication failed: {exc.smtp_code}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise Rejected(f"{where}: recipients refused: {sorted(exc.recipients)}") from None
        except smtplib.SMTPResponseException as exc:
            msg = f"{where}: {exc.smtp_code} {exc.smtp_error!r}"
            raise (Rejected if exc.smtp_code >= 500 else DeliveryError)(msg) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from None


TARGET = EmailTarget
NOTIFIER = EmailNotifier
