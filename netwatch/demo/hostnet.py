"""Sockets in the network namespace netwatch started in, for a process that left it (the demo).

`netwatch demo` moves itself into a private network namespace; a local InfluxDB on the host's
loopback is then out of reach. Capture the host namespace before the move; the exporter's
connections are then opened by a helper thread that re-enters it (setns needs root: the demo's
unprivileged user-namespace mode cannot go back).
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
from concurrent.futures import Future
from queue import SimpleQueue

Socket = socket.socket  # the class: a method below is named socket

CLONE_NEWNET = 0x40000000


class HostNetwork:
    """Capture with HostNetwork.capture() before unshare(2); use .socket_factory afterwards."""

    def __init__(self, ns_fd: int) -> None:
        self._fd = ns_fd
        self._requests: SimpleQueue[tuple[tuple[int, int, int], Future[socket.socket]] | None] = (
            SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._ready: Future[None] = Future()

    @classmethod
    def capture(cls) -> HostNetwork:
        return cls(os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC))

    def _serve(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.setns(self._fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            self._ready.set_exception(
                OSError(err, f"setns to the host network: {os.strerror(err)}")
            )
            return
        self._ready.set_result(None)
        while (item := self._requests.get()) is not None:
            (family, type_, proto), fut = item
            try:
                fut.set_result(socket.socket(family, type_, proto))
            except OSError as exc:
                fut.set_exception(exc)

    def check(self) -> None:
        """Enter the host namespace now; raises OSError when not allowed (not root)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="hostnet", daemon=True)
            self._thread.start()
        self._ready.result(timeout=5)

    def socket(self, family: int, type_: int, proto: int = 0) -> Socket:
        """A new socket of the host namespace (blocks briefly on the helper thread)."""
        self.check()
        fut: Future[Socket] = Future()
        self._requests.put(((family, type_, proto), fut))
        return fut.result(timeout=5)

    def socket_factory(self, addr_info: tuple) -> Socket:  # aiohttp's SocketFactoryType
        family, type_, proto = addr_info[0], addr_info[1], addr_info[2]
        sock = self.socket(family, type_, proto)
        sock.setblocking(False)
        return sock

    def close(self) -> None:
        if self._thread is not None:
            self._requests.put(None)
            self._thread.join(timeout=5)
            self._thread = None
        os.close(self._fd)
