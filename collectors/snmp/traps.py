"""SNMP trap listener (pysnmp 7.1; v1, v2c, v3; traps and informs).

A trap from a known device address with valid credentials asks the scheduler for an early
SNMP poll (the recheck request of DESIGN.md); it never changes state by itself. Traps from
unknown senders or with bad credentials are counted and dropped.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter

from netwatch.core.model import Inventory, SnmpCredential, SnmpTrapSettings
from netwatch.core.telemetry import REGISTRY

log = logging.getLogger(__name__)

TRAPS = Counter(
    "netwatch_snmp_traps_received",
    "SNMP notifications received, by trap and result "
    "(accepted, unknown_sender, bad_credentials, ignored).",
    ["trap", "result"],
    registry=REGISTRY,
)
SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
# SNMPv2-MIB generic notifications (RFC 3418) that call for a fresh look at the device.
TRAP_NAMES = {
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 1): "coldStart",
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 2): "warmStart",
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 3): "linkDown",
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 4): "linkUp",
}
RequestPoll = Callable[[str, str, str], None]

_AUTH = {
    "md5": "USM_AUTH_HMAC96_MD5", "sha": "USM_AUTH_HMAC96_SHA",
    "sha224": "USM_AUTH_HMAC128_SHA224", "sha256": "USM_AUTH_HMAC192_SHA256",
    "sha384": "USM_AUTH_HMAC256_SHA384", "sha512": "USM_AUTH_HMAC384_SHA512",
}  # fmt: skip
_PRIV = {
    "des": "USM_PRIV_CBC56_DES", "aes": "USM_PRIV_CFB128_AES", "aes128": "USM_PRIV_CFB128_AES",
    "aes192": "USM_PRIV_CFB192_AES_BLUMENTHAL", "aes256": "USM_PRIV_CFB256_AES_BLUMENTHAL",
    "aes192c": "USM_PRIV_CFB192_AES", "aes256c": "USM_PRIV_CFB256_AES",
}  # fmt: skip


class TrapListener:
    """Receives notifications on one UDP port; start() binds, stop() releases."""

    def __init__(
        self,
        inventory: Callable[[], Inventory],
        request_poll: RequestPoll,
        settings: SnmpTrapSettings | None = None,
    ) -> None:
        self._inventory = inventory
        self._request_poll = request_poll
        self._fixed_settings = settings
        self._settings = settings or inventory().settings.snmp_traps
        self._engine: Any = None
        self._receiver: Any = None
        self._transport: Any = None
        self._sock: socket.socket | None = None
        self.address: tuple[str, int] | None = None

    def _credentials(self) -> list[SnmpCredential]:
        creds = self._inventory().credentials
        names = self._settings.credentials or tuple(creds)
        out = []
        for name in names:
            cred = creds.get(name)
            if cred is None:
                log.error("snmp_traps.credentials: unknown credential %r (ignored)", name)
                continue
            out.append(cred)
        return out

    async def start(self) -> tuple[str, int]:
        """Bind and configure; returns the bound (address, port)."""
        from pysnmp.carrier.asyncio.dgram import udp
        from pysnmp.entity import config, engine
        from pysnmp.entity.rfc3413 import ntfrcv

        snmp = engine.SnmpEngine()
        for i, cred in enumerate(self._credentials()):
            try:
                if cred.version in ("1", "2c") and cred.community is not None:
                    config.add_v1_system(snmp, f"nw-{i}", cred.community.resolve())
                elif cred.version == "3" and cred.user:
                    auth = getattr(config, _AUTH.get(cred.auth_protocol or "", "USM_AUTH_NONE"))
                    priv = getattr(config, _PRIV.get(cred.priv_protocol or "", "USM_PRIV_NONE"))
                    config.add_v3_user(
                        snmp, cred.user, auth,
                        cred.auth_key.resolve() if cred.auth_key else None,
                        priv, cred.priv_key.resolve() if cred.priv_key else None,
                    )  # fmt: skip
            except (KeyError, OSError) as exc:
                log.error("snmp_traps: credential %s not usable: %s", cred.name, exc)
        family = socket.AF_INET6 if ":" in self._settings.address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((self._settings.address, self._settings.port))
        sock.setblocking(False)
        self.address = sock.getsockname()[:2]
        self._transport = udp.UdpTransport().open_server_mode(sock=sock)
        self._sock = sock
        config.add_transport(snmp, udp.DOMAIN_NAME, self._transport)
        snmp.observer.register_observer(
            self._bad_credentials,
            "rfc2576.prepareDataElements:sm-failure",
            "rfc3412.prepareDataElements:sm-failure",
        )
        self._receiver = ntfrcv.NotificationReceiver(snmp, self._on_notification)
        self._engine = snmp
        log.info("SNMP trap listener on %s:%d", *self.address)
        return self.address

    async def reload(self) -> None:
        """Adopt the reloaded inventory's credentials and settings (closes and re-binds).

        A port of 0 keeps the port bound first, so senders need no new address.
        """
        old = self.address
        await self.stop()
        self._settings = self._fixed_settings or self._inventory().settings.snmp_traps
        if old is not None and self._settings.port == 0:
            self._settings = dataclasses.replace(self._settings, port=old[1])
        await self.start()

    async def stop(self) -> None:
        if self._engine is not None:
            if self._receiver is not None:
                self._receiver.close(self._engine)
            self._engine.close_dispatcher()
            self._engine = None
        if self._transport is not None:
            self._transport.close_transport()
            self._transport = None
        if self._sock is not None:
            self._sock.close()  # the port is free again when stop() returns (reload re-binds)
            self._sock = None

    def _bad_credentials(self, _engine: Any, _point: str, variables: Any, _ctx: Any) -> None:
        TRAPS.labels("unknown", "bad_credentials").inc()
        addr = variables.get("transportAddress")
        log.debug("SNMP notification with bad credentials from %s", addr)

    def _on_notification(
        self, snmp: Any, state_ref: Any, _ctx_engine: Any, _ctx_name: Any, varbinds: Any, _cb: Any
    ) -> None:
        trap = "other"
        for oid, value in varbinds:
            if tuple(oid) == SNMP_TRAP_OID:
                trap = TRAP_NAMES.get(tuple(value), "other")
        try:
            _domain, addr = snmp.message_dispatcher.get_transport_info(state_ref)
            sender = str(addr[0])
        except Exception:
            sender = ""
        device = self._device_at(sender)
        if device is None:
            TRAPS.labels(trap, "unknown_sender").inc()
            log.info("SNMP %s trap from unknown sender %s ignored", trap, sender or "?")
            return
        if trap == "other":
            TRAPS.labels(trap, "ignored").inc()
            return
        TRAPS.labels(trap, "accepted").inc()
        try:
            self._request_poll(device, "snmp", f"trap {trap}")
        except Exception:  # the listener must outlive a failing scheduler call
            log.exception("poll request for %s after %s trap failed", device, trap)

    def _device_at(self, address: str) -> str | None:
        if not address:
            return None
        for dev in self._inventory().devices.values():
            if dev.address == address and dev.snmp is not None:
                return dev.name
        return None
