"""SNMP trap listener (pysnmp 7.1; v1, v2c, v3; traps and informs).

A trap from a known device address with valid credentials asks the scheduler for an early
SNMP poll (a recheck request, `Runtime.recheck`: see docs/architecture.md), at most once per
device per `min_repoll_interval`; it never changes state by itself. Datagrams that are too big, come
from unknown senders or carry unknown communities/users are counted and dropped before
pysnmp decodes them (trap_gate). The socket is bound before the old one is let go, so a
reload to a port that cannot be bound keeps the listener that works. pysnmp carries no type
information: its engine, transport and callback arguments are Any, inside this module only.
"""

from __future__ import annotations

import dataclasses
import logging
import socket
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter

from netwatch.collectors.snmp.trap_gate import Gate, RepollLimit
from netwatch.core.health import RateLimitedLog
from netwatch.core.model import Inventory, SnmpCredential, SnmpTrapSettings
from netwatch.core.telemetry import REGISTRY

log = logging.getLogger(__name__)

TRAPS = Counter(
    "netwatch_snmp_traps_received",
    "SNMP notifications received, by trap and result (accepted, rate_limited, ignored, and "
    "before decoding: unknown_sender, bad_credentials, too_big, malformed).",
    ["trap", "result"],
    registry=REGISTRY,
)
SNMP_TRAP_OID = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
# SNMPv2-MIB generic notifications (RFC 3418) that call for a fresh look at the device.
TRAP_NAMES: dict[tuple[int, ...], str] = {
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 1): "coldStart",
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 2): "warmStart",
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 3): "linkDown",
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 4): "linkUp",
}
# An OLT's ONU alarms, which a village's outage announces (alerting/onu_join.py): Huawei
# SmartAX (MA5600/MA5800), HUAWEI-XPON-TRAP-MIB V1.43, hwXponDeviceOntAlarmTraps =
# hwXponDeviceObjects (2011.6.128.1.1, HUAWEI-XPON-MIB) .12.2.2; each NOTIFICATION-TYPE is
# { hwXponDeviceOntAlarmTraps 0 n }. The poll that follows reads the ONT's state and cause.
_HW_ONT = (1, 3, 6, 1, 4, 1, 2011, 6, 128, 1, 1, 12, 2, 2, 0)
TRAP_NAMES |= {
    (*_HW_ONT, 12): "hwGponProfOntLOSAlarmTrap",  # fibre broken, no signal from the ONT (LOSi)
    (*_HW_ONT, 13): "hwGponProfOntLOSRecoverAlarmTrap",
    (*_HW_ONT, 18): "hwGponProfOntDGAlarmTrap",  # the ONT's dying gasp (DGi): its power failed
    (*_HW_ONT, 19): "hwGponProfOntDGRecoverAlarmTrap",
}
RequestPoll = Callable[[str, str, str], object]  # the scheduler's answer is not needed

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


def bind(settings: SnmpTrapSettings) -> socket.socket:
    """A bound, non-blocking UDP socket for settings; raises OSError (taken, privileged)."""
    family = socket.AF_INET6 if ":" in settings.address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((settings.address, settings.port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


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
        self.gate = Gate(self._settings.max_message_bytes)
        self.repoll = RepollLimit(self._settings.min_repoll_interval)
        self._log = RateLimitedLog(60.0)

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

    def wanted(self, settings: SnmpTrapSettings | None = None) -> SnmpTrapSettings:
        """The settings asked for (default: the current inventory's; port 0 keeps ours)."""
        wanted = self._fixed_settings or settings or self._inventory().settings.snmp_traps
        if self.address is not None and wanted.port == 0:
            wanted = dataclasses.replace(wanted, port=self.address[1])
        return wanted

    def needs_new_socket(self, wanted: SnmpTrapSettings) -> bool:
        return (wanted.address, wanted.port) != (self._settings.address, self._settings.port)

    async def start(self, sock: socket.socket | None = None) -> tuple[str, int]:
        """Bind (or take sock, already bound) and configure; returns the bound address."""
        if sock is None and self._sock is None:
            sock = bind(self._settings)
        if sock is not None:
            if self._sock is not None:
                self._sock.close()
            self._sock = sock
        assert self._sock is not None
        self.address = self._sock.getsockname()[:2]
        self._configure()
        log.info("SNMP trap listener on %s:%d", *self.address)
        return self.address

    def _configure(self) -> None:
        from pysnmp.carrier.asyncio.dgram import udp
        from pysnmp.entity import config, engine
        from pysnmp.entity.rfc3413 import ntfrcv

        snmp = engine.SnmpEngine()
        credentials = self._credentials()
        for i, cred in enumerate(credentials):
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
        self.gate.max_bytes = self._settings.max_message_bytes
        self.gate.configure(self._inventory(), credentials)
        self.repoll.interval = self._settings.min_repoll_interval
        assert self._sock is not None
        # pysnmp closes the socket it is given; ours stays bound across reconfigurations.
        gated = _GatedTransport(self).open_server_mode(sock=self._sock.dup())
        self._transport = gated
        config.add_transport(snmp, udp.DOMAIN_NAME, gated)
        snmp.observer.register_observer(
            self._bad_credentials,
            "rfc2576.prepareDataElements:sm-failure",
            "rfc3412.prepareDataElements:sm-failure",
        )
        self._receiver = ntfrcv.NotificationReceiver(snmp, self._on_notification)
        self._engine = snmp

    async def reload(self, sock: socket.socket | None = None) -> None:
        """Adopt the reloaded inventory's credentials and settings.

        sock: a socket the caller bound for new settings (see needs_new_socket), bound
        before anything was stopped; without it the bound socket is kept.
        """
        wanted = self.wanted()
        if sock is None and self.needs_new_socket(wanted):
            sock = bind(wanted)  # raises before the working listener is touched
        self._teardown()
        self._settings = wanted
        await self.start(sock)

    def _teardown(self) -> None:
        if self._engine is not None:
            if self._receiver is not None:
                self._receiver.close(self._engine)
            self._engine.close_dispatcher()
            self._engine = None
        if self._transport is not None:
            self._transport.close_transport()
            self._transport = None

    async def stop(self) -> None:
        self._teardown()
        self.repoll.close()
        if self._sock is not None:
            self._sock.close()  # the port is free again when stop() returns
            self._sock = None

    def _dropped(self, data: bytes, addr: tuple[str, int]) -> bool:
        """True when the gate drops the datagram (counted, logged at most once a minute)."""
        reason = self.gate.check(data, str(addr[0]))
        if reason is None:
            return False
        TRAPS.labels("unknown", reason).inc()
        self._log(log, logging.INFO, reason, "SNMP datagram from %s dropped: %s", addr[0], reason)
        return True

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

        def poll() -> None:
            try:
                self._request_poll(device, "snmp", f"trap {trap}")
            except Exception:  # the listener must outlive a failing scheduler call
                log.exception("poll request for %s after %s trap failed", device, trap)

        if self.repoll.request(device, poll):
            TRAPS.labels(trap, "accepted").inc()
        else:
            TRAPS.labels(trap, "rate_limited").inc()

    def _device_at(self, address: str) -> str | None:
        if not address:
            return None
        for dev in self._inventory().devices.values():
            if dev.address == address and dev.snmp is not None:
                return dev.name
        return None


class _GatedTransport:
    """pysnmp's UDP transport with the gate in front and decode errors contained."""

    def __new__(cls, listener: TrapListener) -> Any:
        from pysnmp.carrier.asyncio.dgram import udp

        class Gated(udp.UdpTransport):  # type: ignore[misc, valid-type]
            def datagram_received(self, datagram: bytes, addr: Any) -> None:
                if listener._dropped(datagram, addr):
                    return
                self.loop.call_soon(self._deliver, addr, datagram)

            def _deliver(self, addr: Any, datagram: bytes) -> None:
                try:
                    self._callback_function(self, addr, datagram)
                except Exception as exc:  # malformed past the header: counted, no traceback
                    TRAPS.labels("unknown", "malformed").inc()
                    listener._log(
                        log, logging.INFO, "malformed", "SNMP datagram from %s: %s", addr[0], exc
                    )

        return Gated()
