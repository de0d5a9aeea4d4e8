"""What the trap listener checks before pysnmp decodes a datagram, and the re-poll limit.

pysnmp decodes a whole message before it looks at the community: a 51 KB datagram with a
wrong community cost 100-130 ms of CPU, and random datagrams raised logged tracebacks. The
gate reads a few header bytes instead: size, sender (a device of the inventory), version and
community (v1/v2c) or USM user name (v3). Only what passes reaches pysnmp.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from netwatch.collectors.snmp import ber, peek
from netwatch.core.model import Inventory, SnmpCredential

log = logging.getLogger(__name__)


class Gate:
    """Accepts a datagram or names why not: too_big, unknown_sender, malformed, bad_credentials."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.senders: frozenset[str] = frozenset()
        self.communities: frozenset[bytes] = frozenset()
        self.users: frozenset[bytes] = frozenset()

    def configure(self, inventory: Inventory, credentials: Iterable[SnmpCredential]) -> None:
        """Adopt the inventory's device addresses and the accepted communities and users."""
        self.senders = frozenset(d.address for d in inventory.devices.values() if d.snmp)
        communities, users = set(), set()
        for cred in credentials:
            if cred.version in ("1", "2c") and cred.community is not None:
                try:
                    communities.add(cred.community.resolve().encode())
                except (KeyError, OSError):
                    continue  # reported by the listener when it configures pysnmp
            elif cred.version == "3" and cred.user:
                users.add(cred.user.encode())
        self.communities, self.users = frozenset(communities), frozenset(users)

    def check(self, data: bytes, sender: str) -> str | None:
        """None when pysnmp may decode data; else the reason it is dropped."""
        if len(data) > self.max_bytes:
            return "too_big"
        if sender not in self.senders:
            return "unknown_sender"
        v1 = peek.community(data)
        if v1 is not None and v1[0] in (ber.VERSION_1, ber.VERSION_2C):
            return None if v1[1] in self.communities else "bad_credentials"
        user = peek.v3_user(data)
        if user is None:
            return "malformed"
        # An empty user is engine-ID discovery (RFC 3414 §4), which informs start with.
        return None if user in self.users or user == b"" else "bad_credentials"


class RepollLimit:
    """At most one trap-triggered poll per device per interval, plus one trailing poll.

    A storm of traps from one device costs one early poll now and, if more traps came
    meanwhile, one more at the end of the interval (so the last change is still seen soon).
    """

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._trailing: dict[str, asyncio.TimerHandle] = {}

    def request(self, device: str, fire: Callable[[], None]) -> bool:
        """fire() now if device's interval has passed (True); else arrange a trailing one."""
        now = self._clock()
        last = self._last.get(device)
        if last is None or now - last >= self.interval:
            self._last[device] = now
            fire()
            return True
        if device not in self._trailing:
            loop = asyncio.get_running_loop()
            delay = last + self.interval - now
            self._trailing[device] = loop.call_later(delay, self._fire_trailing, device, fire)
        return False

    def _fire_trailing(self, device: str, fire: Callable[[], None]) -> None:
        self._trailing.pop(device, None)
        self._last[device] = self._clock()
        fire()

    def close(self) -> None:
        for handle in self._trailing.values():
            handle.cancel()
        self._trailing.clear()
