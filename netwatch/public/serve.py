"""The board's own process: serves the public listener from the views the monitor sends.

    python -m netwatch.public.serve --listen-fd N --ipc-fd M

The monitor binds the socket and passes it; views, settings and patches arrive over the
IPC socket (pickled, from the parent only), request and complaint counts go back. A separate
process keeps public traffic off the monitor's event loop; it dies with its parent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import logging
import os
import signal
import socket
import sys
import threading
from multiprocessing.connection import Connection

from aiohttp import web

from netwatch.core.public_settings import PublicSettings
from netwatch.public.app import make_app
from netwatch.public.complaints import ComplaintStore, StoreError
from netwatch.public.site import Site
from netwatch.public.view import PublicView

log = logging.getLogger("netwatch.public")
STATS_INTERVAL = 2.0
NICE = 10
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit(0)


def apply(board: Site, message: tuple) -> None:
    """One message from the monitor: ('settings', s) | ('view', v) | ('patch', v, removed)."""
    kind = message[0]
    if kind == "settings":
        settings: PublicSettings = message[1]
        if settings != board.settings:
            board.configure(settings)
    elif kind == "view":
        board.view = message[1]
    elif kind == "patch" and board.view is not None:
        patch: PublicView = message[1]
        villages = dict(board.view.villages)
        villages.update(patch.villages)
        for code in message[2]:
            villages.pop(code, None)
        board.view = dataclasses.replace(patch, villages=villages)


async def serve(sock: socket.socket, conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    first = conn.recv()
    if first[0] != "settings":
        raise RuntimeError(f"expected settings first, got {first[0]!r}")
    settings: PublicSettings = first[1]
    store: ComplaintStore | None
    try:
        store = ComplaintStore(settings.complaints_db)
    except StoreError as exc:
        log.error("public board: complaints cannot be taken: %s", exc)
        store = None
    send_lock = threading.Lock()

    def send(message: tuple) -> None:
        with send_lock:
            conn.send(message)

    board = Site(settings, store, on_complaint=lambda code: send(("complaint", code)))
    stop = asyncio.Event()

    def reader() -> None:
        try:
            while True:
                message = conn.recv()
                loop.call_soon_threadsafe(apply, board, message)
        except (EOFError, OSError):
            loop.call_soon_threadsafe(stop.set)  # the monitor is gone or stopping us

    threading.Thread(target=reader, name="board-ipc", daemon=True).start()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    runner = web.AppRunner(make_app(board), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), STATS_INTERVAL)
            stats = dict(board.stats)
            board.stats.clear()
            stats[("cache", "hits")] = board.cache.hits
            stats[("cache", "renders")] = board.cache.renders
            board.cache.hits = board.cache.renders = 0
            try:
                send(("stats", stats))
            except OSError:
                break
    finally:
        await runner.cleanup()
        if store is not None:
            store.shutdown()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="netwatch.public.serve")
    p.add_argument("--listen-fd", type=int, required=True)
    p.add_argument("--ipc-fd", type=int, required=True)
    p.add_argument("--parent", type=int, required=True)
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _die_with_parent(args.parent)
    # Public traffic yields to monitoring: when both want a core, the kernel favours the monitor.
    os.nice(NICE)
    sock = socket.socket(fileno=args.listen_fd)
    sock.setblocking(False)
    conn = Connection(args.ipc_fd)
    asyncio.run(serve(sock, conn))
    return 0


if __name__ == "__main__":
    sys.exit(main())
