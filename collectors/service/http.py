"""HTTP(S) probe: one HTTP/1.1 request on a fresh connection, timed per phase.

A small client on asyncio streams rather than aiohttp's: blackbox-style phases (connect, TLS,
processing, transfer) need the TCP connect and the TLS handshake apart, which aiohttp's
connector does in one step, and a probe needs no pool, cookies or redirects. Everything read
is bounded: the response head by the stream limit, the body by max_body_bytes.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from urllib.parse import urlsplit

from netwatch import __version__
from netwatch.collectors.service.observation import ProbeResult, os_error_text
from netwatch.collectors.service.tls import client_context, not_after
from netwatch.core.services import HttpCheck

HEAD_LIMIT = 64 << 10  # bytes of status line and headers at most
_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})")


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.x as we can read it."""


async def probe_http(name: str, check: HttpCheck, timeout: float) -> ProbeResult:
    """Never raises: a failure is a result with its reason."""
    res = ProbeResult(name, "http")
    url = urlsplit(check.url)
    host = url.hostname or ""
    tls = url.scheme == "https"
    port = url.port or (443 if tls else 80)
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    host_header = url.netloc.rpartition("@")[2]
    phase = "connect"
    writer: asyncio.StreamWriter | None = None
    t0 = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port, limit=HEAD_LIMIT)
            t = _mark(res, "connect", t0)
            if tls:
                phase = "tls"
                ctx = client_context(check.verify_tls, check.ca_file)
                await writer.start_tls(ctx, server_hostname=host)
                res.tls_not_after = not_after(writer.get_extra_info("ssl_object"))
                t = _mark(res, "tls", t)
            phase = "processing"
            writer.write(
                f"{check.method} {target} HTTP/1.1\r\nHost: {host_header}\r\n"
                f"User-Agent: netwatch/{__version__}\r\nAccept: */*\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status, headers = _parse_head(head)
            res.http_status = status
            t = _mark(res, "processing", t)
            phase = "transfer"
            body = b""
            if check.method != "HEAD" and status >= 200 and status not in (204, 304):
                body = await _read_body(reader, headers, check.max_body_bytes)
            _mark(res, "transfer", t)
        _judge(res, check, status, body)
    except TimeoutError:
        res.reason, res.message = "timeout", f"no answer within {timeout:g} s ({phase})"
    except ssl.SSLError as exc:
        res.reason, res.message = "tls", str(exc)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ProtocolError) as exc:
        res.reason, res.message = "protocol", f"{phase}: {exc}"
    except OSError as exc:
        reason = phase if phase in ("connect", "tls") else "protocol"
        res.reason, res.message = reason, f"{phase}: {os_error_text(exc)}"
    finally:
        res.duration = time.perf_counter() - t0
        if writer is not None:
            writer.close()
    return res


def _mark(res: ProbeResult, phase: str, since: float) -> float:
    now = time.perf_counter()
    res.phases[phase] = now - since
    return now


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.split(b"\r\n")
    m = _STATUS.match(lines[0])
    if m is None:
        raise ProtocolError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        key, sep, value = line.partition(b":")
        if not sep:
            raise ProtocolError(f"bad header line: {line[:80]!r}")
        headers[key.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return int(m.group(1)), headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str], limit: int) -> bytes:
    """At most limit bytes of the body (the rest is not read: the connection closes)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        out = bytearray()
        while len(out) < limit:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";")[0].strip(), 16)
            except ValueError:
                raise ProtocolError(f"bad chunk size {size_line[:40]!r}") from None
            if size == 0:
                break
            out += await reader.readexactly(min(size, limit - len(out)))
            if len(out) < limit:
                await reader.readexactly(2)  # the chunk's CRLF
        return bytes(out)
    length = headers.get("content-length")
    if length is not None:
        try:
            n = int(length)
        except ValueError:
            raise ProtocolError(f"bad Content-Length {length!r}") from None
        return await reader.readexactly(min(n, limit))
    out = bytearray()  # until the server closes (Connection: close)
    while len(out) < limit:
        chunk = await reader.read(limit - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


def _judge(res: ProbeResult, check: HttpCheck, status: int, body: bytes) -> None:
    ok_status = status in check.status if check.status else 200 <= status < 300
    if not ok_status:
        want = ", ".join(map(str, check.status)) or "2xx"
        res.reason, res.message = "status", f"status {status} (expected {want})"
        return
    if check.body is not None and not re.search(check.body, body.decode("utf-8", "replace")):
        res.reason, res.message = "body", f"body does not match {check.body!r}"
        return
    res.success = True
