"""Session-wide agents for the SNMP engine tests: one snmpd, one snmpsim."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.snmpd import Snmpd, V3User, running_snmpd
from tests.helpers.snmpsim import running_snmpsim, snmprec_dir

AUTH_KEY = "authpass-123"
PRIV_KEY = "privpass-456"

# net-snmp createUser names → netwatch protocol names.
AUTH_MATRIX = {
    "MD5": "md5", "SHA": "sha", "SHA-224": "sha224",
    "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512",
}  # fmt: skip
# Auth hashes shorter than the AES key on purpose, so that key extension (Blumenthal for
# AES-192/256, Reeder for AES192C/256C) is exercised: with SHA-384/512 both give one key.
PRIV_MATRIX = {
    "DES": ("des", "SHA-384"), "AES": ("aes128", "SHA-256"), "AES-192": ("aes192", "SHA"),
    "AES-256": ("aes256", "MD5"), "AES192C": ("aes192c", "SHA-224"),
    "AES256C": ("aes256c", "SHA"),
}  # fmt: skip


def v3_users() -> list[V3User]:
    users = [V3User(f"auth-{a}", a, AUTH_KEY) for a in AUTH_MATRIX]
    users += [V3User(f"priv-{p}", a, AUTH_KEY, p, PRIV_KEY) for p, (_, a) in PRIV_MATRIX.items()]
    return users


@pytest.fixture(scope="session")
def snmpd() -> Iterator[Snmpd]:
    with running_snmpd(users=v3_users()) as agent:
        yield agent


@pytest.fixture(scope="session")
def snmprec() -> Path:
    return snmprec_dir()


@pytest.fixture(scope="session")
def snmpsim(snmprec: Path) -> Iterator[tuple[str, int]]:
    with running_snmpsim(snmprec, probe_community="routeros") as endpoint:
        yield endpoint


# Names used by the profile/collector tests (same agents).
@pytest.fixture(scope="session")
def recordings_dir(snmprec: Path) -> Path:
    return snmprec


@pytest.fixture(scope="session")
def recordings_agent(snmpsim: tuple[str, int]) -> tuple[str, int]:
    return snmpsim


DATA_RECORDINGS = Path(__file__).resolve().parents[2] / "data" / "snmprec-profiles"


@pytest.fixture(scope="session")
def data_agent() -> Iterator[tuple[str, int]]:
    """snmpsim serving the profile tests' own recordings (tests/data/snmprec-profiles)."""
    with running_snmpsim(DATA_RECORDINGS, probe_community="snmpsimdata_airos_m5") as endpoint:
        yield endpoint
