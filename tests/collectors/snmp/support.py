"""Small builders shared by the SNMP collector tests."""

from __future__ import annotations

import os
import uuid

from netwatch.core.model import Device, Role, SecretRef, SnmpCredential, SnmpSettings


def device(name: str = "dev", address: str = "127.0.0.1", **kw: object) -> Device:
    return Device(name=name, role=kw.pop("role", Role.AP), address=address,  # type: ignore[arg-type]
                  district="35.10.07", village="35.10.07.2001", **kw)  # type: ignore[arg-type]  # fmt: skip


def v2c(community: str, port: int) -> SnmpCredential:
    """A v2c credential whose community comes from an env var, as in production configs."""
    var = f"NW_TEST_COMMUNITY_{uuid.uuid4().hex[:8]}"
    os.environ[var] = community
    return SnmpCredential(name=community, version="2c", community=SecretRef(env=var), port=port)


SETTINGS = SnmpSettings(timeout=1.0, retries=0, max_repetitions=25)
FAST_TIMEOUT = SnmpSettings(timeout=0.3, retries=0, max_repetitions=25)
