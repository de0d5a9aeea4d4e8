"""Traceroutes in worker processes: the monitoring process's event loop never runs scapy.

Issue 10: 16 scapy traces in threads of the monitoring process took ~60 % of its samples at
50,000 devices (route re-reads, packet building, sniffer threads) and held the GIL away from
the loop, which then read its ICMP socket too late. Here `workers` processes
(trace_worker.py, scapy imported there) are started with the alert engine (start(), in the
background) and kept, so that the first trace does not wait for scapy's import; each runs one
trace at a time, asked for over a pipe. The loop only writes and reads one JSON line per
trace. Bounded: a queue of `queue` traces (a full queue refuses), a deadline per trace (a
worker past it is killed), and a worker that dies or hangs is replaced, counted and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from collections import Counter
from collections.abc import Sequence

from netwatch.alerting import metrics

log = logging.getLogger("netwatch.alerting")

WORKER = (sys.executable, "-m", "netwatch.alerting.trace_worker")
START_TIMEOUT = 60.0  # seconds for a worker to import scapy and say it is ready
SLACK = 5.0  # seconds beyond a trace's own longest time before its worker counts as hung
RESPAWN_FIRST, RESPAWN_MAX = 1.0, 60.0  # delay between failed starts, doubling
LINE_MAX = 64 << 10  # bytes of one answer line


class TraceFailed(RuntimeError):
    """A trace that gave no answer: its worker failed, died or hung."""


class _WorkerGone(Exception):
    pass


Job = tuple[str, "asyncio.Future[str | None]"]


class TracePool:
    """submit(address) → a future of the path break text (traceroute.last_hop_text)."""

    def __init__(
        self,
        workers: int,
        max_hops: int,
        timeout: float,
        *,
        queue: int | None = None,
        command: Sequence[str] = WORKER,
    ) -> None:
        self.size = workers
        self.max_hops = max_hops
        self.timeout = timeout
        # traceroute.trace: two tries of `timeout`, a second apart, plus route and socket set-up.
        self.deadline = 2 * timeout + 1.0 + SLACK
        self.queue_max = queue if queue is not None else 4 * workers
        self.command = list(command)  # tests prefix `ip netns exec NAME`
        self.replaced: Counter[str] = Counter()  # workers replaced, by reason (died, timeout)
        self.pids: dict[int, int] = {}  # slot → pid of its running, ready worker
        self._queue: asyncio.Queue[Job] | None = None
        self._slots: list[asyncio.Task[None]] = []
        self._ids = 0

    @property
    def started(self) -> bool:
        return bool(self._slots)

    def start(self) -> None:
        """Start the workers in the background (once; the loop does not wait for them)."""
        if self._queue is None:
            loop = asyncio.get_running_loop()
            self._queue = asyncio.Queue(self.queue_max)
            self._slots = [
                loop.create_task(self._slot(i), name=f"traceroute-worker-{i}")
                for i in range(self.size)
            ]

    def submit(self, address: str) -> asyncio.Future[str | None] | None:
        """Queue a trace toward address; None when the queue is full (the caller skips it)."""
        loop = asyncio.get_running_loop()
        self.start()
        assert self._queue is not None
        if self._queue.full():
            return None
        fut: asyncio.Future[str | None] = loop.create_future()
        self._queue.put_nowait((address, fut))
        return fut

    async def _slot(self, slot: int) -> None:
        """Keep one worker running: start it, serve traces, replace it when it goes."""
        delay = RESPAWN_FIRST
        while True:
            try:
                proc = await self._spawn()
            except (OSError, _WorkerGone, TimeoutError) as exc:
                log.error("alerting: cannot start a traceroute worker: %s; retrying in %.0f s",
                          exc, delay)  # fmt: skip
                self.replaced["start_failed"] += 1
                metrics.TRACE_WORKERS_REPLACED.labels("start_failed").inc()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESPAWN_MAX)
                continue
            delay = RESPAWN_FIRST
            self.pids[slot] = proc.pid
            metrics.TRACE_WORKERS.inc()
            try:
                reason = await self._serve(proc)
            finally:
                metrics.TRACE_WORKERS.dec()
                self.pids.pop(slot, None)
                if proc.returncode is None:
                    proc.kill()  # our own child, by its handle
                with contextlib.suppress(ProcessLookupError):
                    await proc.wait()
            self.replaced[reason] += 1
            metrics.TRACE_WORKERS_REPLACED.labels(reason).inc()
            log.warning(
                "alerting: traceroute worker (pid %d) %s (exit status %s); starting another",
                proc.pid,
                "died" if reason == "died" else f"gave no answer within {self.deadline:.0f} s",
                proc.returncode,
            )

    async def _spawn(self) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            *self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=LINE_MAX,
        )
        try:
            async with asyncio.timeout(START_TIMEOUT):
                hello = await self._read(proc)
        except BaseException:
            if proc.returncode is None:
                proc.kill()
            await proc.wait()
            raise
        if hello.get("ready") is not True:
            proc.kill()
            await proc.wait()
            raise _WorkerGone(f"unexpected greeting {hello!r}")
        return proc

    async def _serve(self, proc: asyncio.subprocess.Process) -> str:
        """Run queued traces on proc until it dies ("died") or hangs ("timeout")."""
        assert self._queue is not None
        queue = self._queue
        exited = asyncio.ensure_future(proc.wait())
        get: asyncio.Future[Job] | None = None
        try:
            while True:
                get = asyncio.ensure_future(queue.get())
                await asyncio.wait({get, exited}, return_when=asyncio.FIRST_COMPLETED)
                if exited.done():
                    if get.done():
                        queue.put_nowait(get.result())  # back for the next worker
                    else:
                        get.cancel()
                    return "died"
                address, fut = get.result()
                if fut.done():
                    continue  # cancelled by the caller
                try:
                    async with asyncio.timeout(self.deadline):
                        path = await self._ask(proc, address)
                except TimeoutError:
                    fut.set_exception(TraceFailed(f"no answer within {self.deadline:.0f} s"))
                    return "timeout"
                except (_WorkerGone, ConnectionError) as exc:
                    fut.set_exception(TraceFailed(f"the worker died during the trace ({exc})"))
                    return "died"
                except TraceFailed as exc:
                    fut.set_exception(exc)
                else:
                    fut.set_result(path)
        finally:
            exited.cancel()
            if get is not None and not get.done():
                get.cancel()  # stopped while waiting for a trace

    async def _ask(self, proc: asyncio.subprocess.Process, address: str) -> str | None:
        assert proc.stdin is not None
        self._ids += 1
        ident = self._ids
        ask = {"id": ident, "address": address, "max_hops": self.max_hops,
               "timeout": self.timeout}  # fmt: skip
        proc.stdin.write(json.dumps(ask).encode() + b"\n")
        await proc.stdin.drain()
        answer = await self._read(proc)
        if answer.get("id") != ident:
            raise _WorkerGone(f"answer out of turn: {answer!r}")
        if "error" in answer:
            raise TraceFailed(str(answer["error"]))
        path = answer.get("path")
        return path if isinstance(path, str) else None

    @staticmethod
    async def _read(proc: asyncio.subprocess.Process) -> dict[str, object]:
        assert proc.stdout is not None
        try:
            line = await proc.stdout.readline()
        except ValueError as exc:  # a line beyond LINE_MAX
            raise _WorkerGone(str(exc)) from None
        if not line:
            raise _WorkerGone("its output closed")
        try:
            msg = json.loads(line)
        except ValueError:
            raise _WorkerGone(f"unreadable answer {line[:200]!r}") from None
        if not isinstance(msg, dict):
            raise _WorkerGone(f"unreadable answer {line[:200]!r}")
        return msg

    async def aclose(self) -> None:
        """Stop the workers (each slot kills its own process) and fail queued traces."""
        for task in self._slots:
            task.cancel()
        for task in self._slots:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._slots = []
        if self._queue is not None:
            while not self._queue.empty():
                _address, fut = self._queue.get_nowait()
                if not fut.done():
                    fut.cancel()
            self._queue = None
