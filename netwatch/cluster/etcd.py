"""A small client for etcd's v3 API through its JSON gateway: leases, gets and transactions.

etcd serves its v3 API as JSON over HTTP (the gRPC gateway, documented by etcd as the way for
languages without a gRPC client): POST /v3/lease/grant, /v3/lease/keepalive,
/v3/lease/revoke, /v3/kv/range, /v3/kv/txn. Keys and values travel base64-encoded, int64s as
strings, and fields equal to zero are left out. netwatch already speaks HTTP with aiohttp;
the Python gRPC clients would add grpcio and protobuf for five calls.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from netwatch.core.model import EtcdSettings

if TYPE_CHECKING:
    import aiohttp

Json: TypeAlias = dict[str, object]


class EtcdError(Exception):
    """etcd did not answer (every endpoint tried) or answered with an error."""


@dataclass(frozen=True, slots=True)
class KV:
    key: str
    value: bytes
    mod_revision: int
    create_revision: int
    lease: int


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def _int(data: Mapping[str, object], name: str) -> int:
    value = data.get(name, 0)
    return int(value) if isinstance(value, str | int) else 0


def _kv(data: Mapping[str, object]) -> KV:
    key, value = data.get("key", ""), data.get("value", "")
    return KV(
        base64.b64decode(key).decode() if isinstance(key, str) else "",
        base64.b64decode(value) if isinstance(value, str) else b"",
        _int(data, "mod_revision"),
        _int(data, "create_revision"),
        _int(data, "lease"),
    )


# -- transaction parts (etcdserverpb.Compare and RequestOp as JSON) ----------------------------


def value_is(key: str, value: str) -> Json:
    return {"key": b64(key), "target": "VALUE", "result": "EQUAL", "value": b64(value)}


def lease_is(key: str, lease: int) -> Json:
    return {"key": b64(key), "target": "LEASE", "result": "EQUAL", "lease": str(lease)}


def mod_is(key: str, revision: int) -> Json:
    """The key's last change was at revision (0: the key does not exist)."""
    if revision == 0:
        return {"key": b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
    return {"key": b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(revision)}


def put(key: str, value: str, lease: int = 0) -> Json:
    body: Json = {"key": b64(key), "value": b64(value)}
    if lease:
        body["lease"] = str(lease)
    return {"request_put": body}


def get(key: str) -> Json:
    return {"request_range": {"key": b64(key)}}


@dataclass(frozen=True, slots=True)
class TxnResult:
    succeeded: bool
    revision: int  # the store's revision after the transaction
    kvs: tuple[KV, ...]  # what the range requests of the branch taken found


class Etcd:
    """Requests to the first endpoint that answers; the one that answered is tried first next."""

    def __init__(self, settings: EtcdSettings) -> None:
        self.settings = settings
        self._endpoints = [e.rstrip("/") for e in settings.endpoints]
        self._session: aiohttp.ClientSession | None = None

    def _ssl(self) -> ssl.SSLContext | None:
        s = self.settings
        if s.ca_file is None and s.cert_file is None:
            return None
        ctx = ssl.create_default_context(cafile=s.ca_file)
        if s.cert_file is not None:
            ctx.load_cert_chain(s.cert_file, s.key_file)
        return ctx

    async def _post(self, path: str, body: Json) -> Json:
        import aiohttp

        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl() or True)
            self._session = aiohttp.ClientSession(connector=connector)
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
        errors = []
        for endpoint in list(self._endpoints):
            try:
                async with self._session.post(
                    endpoint + path, data=json.dumps(body), timeout=timeout
                ) as resp:
                    text = await resp.text()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                errors.append(f"{endpoint}: {type(exc).__name__}: {exc}".rstrip(": "))
                continue
            if status != 200:  # e.g. 503 while that member has no leader: try the next
                errors.append(f"{endpoint}: HTTP {status}: {text[:200]}")
                continue
            if endpoint != self._endpoints[0]:  # stick to the endpoint that answers
                self._endpoints.remove(endpoint)
                self._endpoints.insert(0, endpoint)
            try:
                answer = json.loads(text)
            except ValueError:
                raise EtcdError(f"{endpoint}{path}: not JSON: {text[:200]}") from None
            if not isinstance(answer, dict):
                raise EtcdError(f"{endpoint}{path}: unexpected answer: {text[:200]}")
            if "error" in answer:
                raise EtcdError(f"{endpoint}{path}: {answer.get('error')}")
            return answer
        raise EtcdError("no etcd endpoint answered: " + "; ".join(errors))

    async def grant(self, ttl: float) -> tuple[int, float]:
        """A new lease: (its id, the TTL etcd granted)."""
        answer = await self._post("/v3/lease/grant", {"TTL": str(max(int(ttl), 1))})
        lease = _int(answer, "ID")
        if not lease:
            raise EtcdError(f"lease grant refused: {answer.get('error') or answer}")
        return lease, float(_int(answer, "TTL"))

    async def keepalive(self, lease: int) -> float:
        """Renew a lease; its TTL in seconds, 0 when the lease no longer exists."""
        answer = await self._post("/v3/lease/keepalive", {"ID": str(lease)})
        result = answer.get("result")
        return float(_int(result, "TTL")) if isinstance(result, dict) else 0.0

    async def revoke(self, lease: int) -> None:
        """End a lease now: every key attached to it goes at once."""
        await self._post("/v3/lease/revoke", {"ID": str(lease)})

    async def get(self, key: str) -> KV | None:
        answer = await self._post("/v3/kv/range", {"key": b64(key)})
        kvs = answer.get("kvs")
        return _kv(kvs[0]) if isinstance(kvs, list) and kvs else None

    async def txn(
        self, compare: Sequence[Json], success: Sequence[Json], failure: Sequence[Json] = ()
    ) -> TxnResult:
        body: Json = {"compare": list(compare), "success": list(success), "failure": list(failure)}
        answer = await self._post("/v3/kv/txn", body)
        header = answer.get("header")
        revision = _int(header, "revision") if isinstance(header, dict) else 0
        kvs: list[KV] = []
        responses = answer.get("responses")
        for response in responses if isinstance(responses, list) else ():
            found = response.get("response_range") if isinstance(response, dict) else None
            if isinstance(found, dict):
                found_kvs = found.get("kvs")
                kvs.extend(_kv(kv) for kv in found_kvs or () if isinstance(kv, dict))
        return TxnResult(bool(answer.get("succeeded")), revision, tuple(kvs))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
