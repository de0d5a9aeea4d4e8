"""One HTTP write of a line-protocol body: v2 through influxdb-client's async API, v1 by POST."""

from __future__ import annotations

import base64
import email.utils
import re
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol, cast

import aiohttp

from netwatch.exporters.influxdb.lineproto import V1_PRECISION

# Statuses that mean "this data is bad": the batch is split to find and drop the bad lines.
REJECTED = frozenset({400, 422})
TOO_LARGE = 413


# InfluxDB 1.x (and 2.x for some errors) answers 400 "partial write: ... dropped=N" after
# writing every other point of the request: nothing to resend then.
_PARTIAL = re.compile(r"partial write.*?dropped=(\d+)", re.S)


class WriteError(Exception):
    """A failed write; reason is a bounded metric label."""

    def __init__(
        self,
        reason: str,
        message: str,
        status: int | None = None,
        retry_after: float | None = None,
        partial_dropped: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        # Set when the server wrote the rest of the request and dropped this many points.
        self.partial_dropped = partial_dropped

    @property
    def bad_data(self) -> bool:
        return self.status in REJECTED or self.status == TOO_LARGE


SocketFactory = Callable[[tuple], socket.socket]


def _session_type(socket_factory: SocketFactory) -> Callable[..., aiohttp.ClientSession]:
    """influxdb-client's client_session_type: a session whose sockets come from socket_factory."""

    def make(  # takes aiohttp.ClientSession's own arguments, passed through (hence Any)
        *args: Any, connector: aiohttp.TCPConnector | None = None, **kw: Any
    ) -> aiohttp.ClientSession:
        # influxdb-client's connector (never used, holds no connection) carries its TLS settings.
        ssl_ctx = getattr(connector, "_ssl", True) if connector is not None else True
        ours = aiohttp.TCPConnector(ssl=ssl_ctx, socket_factory=socket_factory)
        return aiohttp.ClientSession(*args, connector=ours, **kw)

    return make


class Transport(Protocol):
    async def send(self, body: bytes) -> None: ...

    async def close(self) -> None: ...


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds (delta-seconds or HTTP-date, RFC 9110 §10.2.3); None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def classify(status: int, body: str, headers: Mapping[str, str] | None) -> WriteError:
    retry_after = parse_retry_after(headers.get("Retry-After") if headers else None)
    message = f"HTTP {status}: {body.strip()[:300]}"
    if status == 429:
        reason = "throttled"
    elif status >= 500:
        reason = "server"
    elif status in REJECTED:
        reason = "rejected"
    elif status == TOO_LARGE:
        reason = "too_large"
    elif status in (401, 403):
        reason = "auth"
    elif status == 404:
        reason = "not_found"
    else:
        reason = "http"
    partial = None
    if status in REJECTED and (match := _PARTIAL.search(body)):
        # A line that did not parse is not in "dropped": count it as one.
        partial = max(int(match.group(1)), 1 if "unable to parse" in body else 0)
    return WriteError(reason, message, status, retry_after, partial)


class V2Transport:
    """/api/v2/write via InfluxDBClientAsync (InfluxDB 2.x, 3.x v2-compat, 1.8+ with user:pass)."""

    def __init__(
        self,
        url: str,
        token: str | None,
        org: str,
        bucket: str,
        precision: str,
        timeout: float,
        verify_tls: bool = True,
        ca_file: str | None = None,
        socket_factory: SocketFactory | None = None,
    ) -> None:
        from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync

        kwargs: dict[str, object] = {"verify_ssl": verify_tls}
        if ca_file:
            kwargs["ssl_ca_cert"] = ca_file
        if socket_factory is not None:
            kwargs["client_session_type"] = _session_type(socket_factory)
        self._client = InfluxDBClientAsync(
            url=url, token=token or "", org=org, timeout=int(timeout * 1000), **kwargs
        )
        self._api = self._client.write_api()
        self._bucket, self._org, self._precision = bucket, org, precision

    async def send(self, body: bytes) -> None:
        from influxdb_client import WritePrecision
        from influxdb_client.rest import ApiException

        try:
            await self._api.write(
                self._bucket,
                self._org,
                record=body,
                # WritePrecision is a class of str constants ("ms", ...), not an enum.
                write_precision=cast(WritePrecision, self._precision),
            )
        except ApiException as exc:
            if not exc.status:  # the client's own errors (no HTTP exchange)
                raise WriteError("network", str(exc.reason)) from exc
            body_text = exc.body.decode("utf-8", "replace") if exc.body else str(exc.reason)
            raise classify(exc.status, body_text, exc.headers) from exc
        except TimeoutError as exc:
            raise WriteError("timeout", "write timed out") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise WriteError("network", f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        await self._client.close()


class V1Transport:
    """POST /write?db=&rp=&precision= for InfluxDB ≤ 1.7 (no /api/v2/write there)."""

    def __init__(
        self,
        url: str,
        database: str,
        retention_policy: str | None,
        precision: str,
        timeout: float,
        username: str | None = None,
        password: str | None = None,
        verify_tls: bool = True,
        ca_file: str | None = None,
        socket_factory: SocketFactory | None = None,
    ) -> None:
        self._url = url.rstrip("/") + "/write"
        self._socket_factory = socket_factory
        self._params = {"db": database, "precision": V1_PRECISION[precision]}
        if retention_policy:
            self._params["rp"] = retention_policy
        self._headers = {"Content-Type": "text/plain; charset=utf-8"}
        if username:
            pair = f"{username}:{password or ''}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._ssl: object = None
        if not verify_tls:
            self._ssl = False
        elif ca_file:
            import ssl

            self._ssl = ssl.create_default_context(cafile=ca_file)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, body: bytes) -> None:
        if self._session is None:
            connector = None
            if self._socket_factory is not None:
                connector = aiohttp.TCPConnector(socket_factory=self._socket_factory)
            self._session = aiohttp.ClientSession(timeout=self._timeout, connector=connector)
        try:
            async with self._session.post(
                self._url,
                params=self._params,
                data=body,
                ssl=self._ssl,  # type: ignore[arg-type]
                headers=self._headers,
            ) as resp:
                if resp.status in (200, 204):
                    return
                text = await resp.text(errors="replace")
                raise classify(resp.status, text, resp.headers)
        except TimeoutError as exc:
            raise WriteError("timeout", "write timed out") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise WriteError("network", f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
