"""A real SMTP server (aiosmtpd) on a free loopback port, with STARTTLS and AUTH.

The certificate is self-signed for IP 127.0.0.1 (tests/helpers/tls.py); clients trust it
through `cert_path`.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.helpers.tls import self_signed


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    login: bytes | None


@dataclass
class Handler:
    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        self.messages.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
                session.ssl is not None,
                login,
            )
        )
        return "250 OK"


class SmtpServer:
    """STARTTLS (or, with implicit_tls, TLS from the first byte) and AUTH with `users`."""

    def __init__(self, directory: Path, users: dict[str, str], implicit_tls: bool = False) -> None:
        self.cert_path, key_path = self_signed(directory, "smtp")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self.handler = Handler()
        self._users = {u.encode(): p.encode() for u, p in users.items()}
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        tls = {"ssl_context": context} if implicit_tls else {"tls_context": context}
        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            **tls,
            require_starttls=not implicit_tls,
            auth_required=True,
            # aiosmtpd only sees STARTTLS as TLS; with implicit TLS every byte is encrypted.
            auth_require_tls=not implicit_tls,
            authenticator=self._authenticate,
        )

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
        ok = isinstance(data, LoginPassword) and self._users.get(data.login) == data.password
        return AuthResult(success=ok, handled=False, auth_data=data)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
