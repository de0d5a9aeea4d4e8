"""Abuse protection for the complaint box, without third parties: sliding-window rate limits,
single-use signed form tokens with a minimum fill time, and client keys by address (/64).

Everything is in memory and bounded; nothing about a resident is written to disk.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from collections import OrderedDict, deque


class RateLimiter:
    """At most `limit` events per key in any `window` seconds; at most max_keys keys kept."""

    def __init__(self, limit: int, window: float, max_keys: int = 50_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str, now: float) -> bool:
        """Count one event for key if it is within the limit; False (not counted) otherwise."""
        q = self._events.get(key)
        if q is None:
            q = self._events[key] = deque()
            if len(self._events) > self.max_keys:
                self._events.popitem(last=False)  # the least recently seen key
        else:
            self._events.move_to_end(key)
        while q and q[0] <= now - self.window:
            q.popleft()
        if len(q) >= self.limit:
            return False
        q.append(now)
        return True

    def retry_after(self, key: str, now: float) -> float:
        q = self._events.get(key)
        if not q or len(q) < self.limit:
            return 0.0
        return max(0.0, q[0] + self.window - now)


class FormTokens:
    """Signed tokens in the form: bound to a village, usable once, after min_fill seconds."""

    def __init__(self, min_fill: float, max_age: float, key: bytes | None = None) -> None:
        self.min_fill = min_fill
        self.max_age = max_age
        self._key = key or os.urandom(32)
        self._used: OrderedDict[str, float] = OrderedDict()

    def _mac(self, village: str, issued: str, nonce: str) -> str:
        msg = f"{village}|{issued}|{nonce}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()[:32]

    def issue(self, village: str, now: float) -> str:
        issued = str(int(now * 1000))
        nonce = secrets.token_hex(8)
        return f"{issued}.{nonce}.{self._mac(village, issued, nonce)}"

    def check(self, token: str, village: str, now: float) -> str | None:
        """None if the token may be used now (and marks it used); else 'token' or 'fast'."""
        parts = token.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or len(token) > 80:
            return "token"
        issued, nonce, mac = parts
        if not hmac.compare_digest(mac, self._mac(village, issued, nonce)):
            return "token"
        age = now - int(issued) / 1000
        if age > self.max_age or age < -5:
            return "token"
        if age < self.min_fill:
            return "fast"
        while self._used and next(iter(self._used.values())) < now - self.max_age:
            self._used.popitem(last=False)
        if nonce in self._used:
            return "token"
        self._used[nonce] = now
        return None


def client_key(remote: str | None, forwarded: str | None, trusted: tuple[str, ...]) -> str:
    """The address to limit: the peer, or the last X-Forwarded-For hop a trusted proxy added.

    IPv6 clients are counted per /64 (one subscriber usually holds a whole /64).
    """
    addr = remote or "unknown"
    if forwarded and addr in trusted:
        addr = forwarded.split(",")[-1].strip() or addr
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return addr[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
