"""The public board as a part of the running monitor (netwatch.core.runtime starts it).

Once per alert-engine evaluation it builds the public view (build.py) and sends what changed
to the board's own process (serve.py), which owns the public listener. If that process dies
it is started again on the same socket; the monitor never waits on public traffic.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from multiprocessing.connection import Connection
from typing import Protocol

from netwatch.core.model import Inventory
from netwatch.public import metrics
from netwatch.public.build import Builder
from netwatch.public.complaints import ComplaintStore, StoreError
from netwatch.public.engine_view import EngineFacts, EngineSource, read_engine
from netwatch.public.history import History
from netwatch.public.view import PublicView

log = logging.getLogger("netwatch.public")
MAX_BACKOFF = 60.0


class Monitor(EngineSource, Protocol):
    """What the board needs of the running monitor (netwatch.core.runtime.Runtime)."""

    inventory: Inventory

    def on_stop(self, coro_fn: Callable[[], Awaitable[None]]) -> None: ...


def bind(listen: str) -> socket.socket:
    """A listening TCP socket for host:port (the board's process serves it)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, int(port)))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


class PublicBoard:
    """Owns the board's socket, its process, the view builder and the board's metrics."""

    def __init__(self, runtime: Monitor, sock: socket.socket | None = None) -> None:
        self.runtime = runtime
        self.settings = runtime.inventory.settings.public
        self.sock = sock
        self.store: ComplaintStore | None = None
        self.builder: Builder | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.conn: Connection | None = None
        self.stats: Counter[tuple[str, ...]] = Counter()  # totals of the process's reports
        self.restarts = 0
        self.build_errors = 0
        self.build_seconds = 0.0
        self.last_view_at = 0.0  # when the process last got a view
        self.views = 0
        self._sent: dict[str, int] = {}  # village → revision the current process has
        self._sent_top: tuple = ()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(1, "public-board")
        self._unregister: Callable[[], None] | None = None

    @property
    def up(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self.views > 0

    async def start(self) -> None:
        s = self.settings
        if self.sock is None:
            self.sock = bind(s.listen)  # OSError: the caller says why and monitoring goes on
        host, port = self.sock.getsockname()[:2]
        try:
            self.store = ComplaintStore(s.complaints_db)
        except StoreError as exc:
            log.error("public board: complaints cannot be taken: %s", exc)
        history = History(self.runtime.inventory.settings.alerting.db_path, s.timezone)
        self.builder = Builder(history, self.store)
        self._unregister = metrics.register(self)
        self._spawn()
        self._task = asyncio.create_task(self._run(), name="public-board")
        log.info("public board on http://%s:%d/", host, port)

    def address(self) -> str:
        assert self.sock is not None
        host, port = self.sock.getsockname()[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def _spawn(self) -> None:
        assert self.sock is not None
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        argv = [
            sys.executable, "-m", "netwatch.public.serve",
            "--listen-fd", str(self.sock.fileno()), "--ipc-fd", str(theirs.fileno()),
            "--parent", str(os.getpid()),
        ]  # fmt: skip
        self.proc = subprocess.Popen(argv, pass_fds=(self.sock.fileno(), theirs.fileno()), env=env)
        theirs.close()
        self.conn = Connection(ours.detach())
        self.conn.send(("settings", self.settings))
        self._sent, self._sent_top, self.views = {}, (), 0
        loop = asyncio.get_running_loop()
        threading.Thread(
            target=self._reader, args=(self.conn, loop), name="public-board-ipc", daemon=True
        ).start()

    def _reader(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while True:
                message = conn.recv()
                loop.call_soon_threadsafe(self._on_message, message)
        except (EOFError, OSError):
            return

    def _on_message(self, message: tuple) -> None:
        if message[0] == "stats":
            self.stats.update(message[1])
        elif message[0] == "complaint":
            self._wake.set()  # show "report received" at once, not at the next evaluation

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        last_evaluation, last_build, backoff, dead_since = -1, 0.0, 1.0, 0.0
        while not self._stopping:
            tick = self.runtime.inventory.settings.alerting.tick
            if self.proc is not None and self.proc.poll() is not None:
                if dead_since == 0.0:
                    log.error(
                        "public board: its process exited (%s); starting it again in %.0f s",
                        self.proc.returncode, backoff,
                    )  # fmt: skip
                    dead_since = time.monotonic()
                if time.monotonic() - dead_since >= backoff:
                    self.restarts += 1
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    dead_since = 0.0
                    self._spawn()
                    last_evaluation = -1
            facts = read_engine(self.runtime)
            now = time.time()
            due = (
                facts.evaluation != last_evaluation
                if facts.from_engine
                else now - last_build >= tick
            )
            if (due or self._wake.is_set()) and self.proc is not None and self.proc.poll() is None:
                self._wake.clear()
                last_evaluation, last_build = facts.evaluation, now
                inventory = self.runtime.inventory
                try:
                    started = time.perf_counter()
                    view = await loop.run_in_executor(
                        self._executor, self._build_and_send, inventory, facts, now
                    )
                    self.build_seconds = time.perf_counter() - started
                    if view is not None:
                        backoff = 1.0
                except Exception:
                    self.build_errors += 1
                    log.exception("public board: building the public view failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=min(0.25, tick / 4))

    def _build_and_send(
        self, inventory: Inventory, facts: EngineFacts, now: float
    ) -> PublicView | None:
        assert self.builder is not None and self.conn is not None
        view = self.builder.build(inventory, facts, now)
        top = (
            view.minute, view.history, view.language, view.base_url,
            tuple((d.code, d.rev) for d in view.districts.values()),
        )  # fmt: skip
        changed = {c: v for c, v in view.villages.items() if self._sent.get(c) != v.rev}
        removed = [c for c in self._sent if c not in view.villages]
        if not changed and not removed and top == self._sent_top:
            return None
        if not self._sent:
            message: tuple = ("view", view)
        else:
            message = ("patch", dataclasses.replace(view, villages=changed), removed)
        try:
            self.conn.send(message)
        except OSError:
            return None  # the process is gone: _run starts a new one
        self._sent = {c: v.rev for c, v in view.villages.items()}
        self._sent_top = top
        self.last_view_at = now
        self.views += 1
        return view

    def reload(self, inventory: Inventory) -> None:
        """Adopt changed board settings; the listener itself moves only on restart."""
        new = inventory.settings.public
        if (new.listen, new.enabled) != (self.settings.listen, self.settings.enabled):
            log.warning("public board: settings.public.listen/enabled change at the next restart")
        self.settings = dataclasses.replace(new, listen=self.settings.listen)
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.send(("settings", self.settings))
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                await asyncio.get_running_loop().run_in_executor(None, self.proc.wait, 10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.conn is not None:
            self.conn.close()  # after the process: its end closed, our reader has seen EOF
        if self._unregister is not None:
            self._unregister()
        if self.builder is not None and self.builder.history is not None:
            self.builder.history.close()
        if self.store is not None:
            self.store.shutdown()
        if self.sock is not None:
            self.sock.close()
        self._executor.shutdown(wait=False)


async def attach(runtime: Monitor, sock: socket.socket | None = None) -> PublicBoard | None:
    """Start the board if settings.public.enabled (or a socket is given, as the demo does);
    registers its stop with the runtime. A board that cannot start never stops monitoring."""
    if sock is None and not runtime.inventory.settings.public.enabled:
        return None
    board = PublicBoard(runtime, sock)
    try:
        await board.start()
    except OSError as exc:
        log.error("public board not started: %s", exc)
        return None
    runtime.on_stop(board.stop)
    return board
