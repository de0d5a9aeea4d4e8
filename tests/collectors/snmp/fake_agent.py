"""A scripted UDP responder for timeout and matching tests (answers with our own encoder)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from netwatch.collectors.snmp import ber

# Given a decoded request, return the datagrams to send back (to the sender).
Script = Callable[[ber.Message], list[bytes]]


class FakeAgent(asyncio.DatagramProtocol):
    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[tuple[float, ber.Message]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:  # type: ignore[override]
        msg = ber.decode_message(data)
        self.requests.append((asyncio.get_running_loop().time(), msg))
        for reply in self.script(msg):
            self.transport.sendto(reply, addr)  # type: ignore[union-attr]


async def start_fake_agent(script: Script, host: str = "127.0.0.1") -> tuple[FakeAgent, int]:
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        lambda: FakeAgent(script), local_addr=(host, 0)
    )
    return proto, transport.get_extra_info("sockname")[1]
