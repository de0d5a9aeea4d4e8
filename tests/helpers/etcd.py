"""A real etcd (Debian etcd-server) on free loopback ports, and a TCP relay to cut it off.

    server = EtcdServer(tmp_path); server.start(); ... server.stop()
    relay = Relay(server.port); await relay.start()   # a replica's own way to etcd
    relay.cut(); ...; relay.heal()                     # a network partition, one replica only

Ports are free loopback ports; the server is stopped by its PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import urllib.request
from pathlib import Path

from tests.helpers import needs
from tests.helpers.procs import free_port, stop, wait_for

BINARY = "etcd"


class EtcdServer:
    def __init__(self, workdir: Path, popen=subprocess.Popen) -> None:
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.peer_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._popen = popen  # e.g. a namespace's popen, to run it inside a test network

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        client, peer = f"http://127.0.0.1:{self.port}", f"http://127.0.0.1:{self.peer_port}"
        return [
            needs.tool(BINARY, "etcd-server"),
            "--name", "n1",
            "--data-dir", str(self.dir / "data"),
            "--listen-client-urls", client,
            "--advertise-client-urls", client,
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"n1={peer}",
            "--log-level", "warn",
        ]  # fmt: skip

    def start(self, ready: bool = True) -> EtcdServer:
        log = open(self.dir / "etcd.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = self._popen(self.argv(), stdout=log, stderr=log)
        log.close()
        if ready:
            wait_for(self.ready, 30, "etcd answering", 0.1)
        return self

    def ready(self) -> bool:
        req = urllib.request.Request(
            self.url + "/v3/kv/range", data=json.dumps({"key": "AA=="}).encode(), method="POST"
        )
        with urllib.request.urlopen(req, timeout=2) as resp:
            return resp.status == 200

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def log_tail(self) -> str:
        path = self.dir / "etcd.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


class Relay:
    """A TCP relay on a free loopback port to another port; cut() drops every connection and
    refuses new ones until heal(), as a network partition does to one replica."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self.cut_off = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Relay:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port or 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:
            writer.close()
            return
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._open.update((writer, up_w))

        async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await r.read(65536):
                    if self.cut_off:
                        break
                    w.write(data)
                    await w.drain()
            w.close()

        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
        self._open.difference_update((writer, up_w))

    def cut(self) -> None:
        self.cut_off = True
        for w in list(self._open):
            w.transport.abort()
        self._open.clear()

    def heal(self) -> None:
        self.cut_off = False

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
