"""The `credentials:` section: named SNMP credentials, secrets by reference only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netwatch.config.builder import build, unknown_keys
from netwatch.config.errors import Issues
from netwatch.config.nodes import Loc, YamlValue, node_line, type_name
from netwatch.config.values import check_name, check_port
from netwatch.core.model import SnmpCredential, Source

AUTH_PROTOCOLS = ("md5", "sha", "sha224", "sha256", "sha384", "sha512")
PRIV_PROTOCOLS = ("des", "aes128", "aes192", "aes256", "aes192c", "aes256c")
VERSIONS = ("1", "2c", "3")


def parse_credentials(node: YamlValue, loc: Loc, issues: Issues) -> dict[str, SnmpCredential]:
    """credentials: {snmp: {NAME: {...}}} → credentials by name."""
    out: dict[str, SnmpCredential] = {}
    if node is None:
        return out
    if not isinstance(node, Mapping):
        issues.at(loc, f"must be a mapping, not {type_name(node)}")
        return out
    unknown_keys(node, ["snmp"], Loc(loc.file, node_line(node, loc.line), loc.path), issues)
    snmp = node.get("snmp")
    sloc = loc.key(node, "snmp")
    if snmp is None:
        return out
    if not isinstance(snmp, Mapping):
        issues.at(sloc, f"must be a mapping, not {type_name(snmp)}")
        return out
    for name, body in snmp.items():
        cloc = sloc.key(snmp, name)
        try:
            check_name(str(name))
        except ValueError as exc:
            issues.at(cloc, str(exc))
            continue
        cred = _credential(str(name), body, cloc, issues)
        if cred is not None:
            out[str(name)] = cred
    return out


def _credential(name: str, body: Any, loc: Loc, issues: Issues) -> SnmpCredential | None:
    if not isinstance(body, Mapping):
        issues.at(loc, f"must be a mapping, not {type_name(body)}")
        return None
    loc = Loc(loc.file, node_line(body, loc.line), loc.path)
    version = None
    if "version" not in body:
        issues.at(loc, "missing required key 'version'")
    else:
        raw = body["version"]
        version = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else None
        if version not in VERSIONS:
            vloc = loc.key(body, "version")
            issues.at(vloc, f"{raw!r} is not one of 1, 2c, 3")
            version = None
    fixed = {"name": name, "version": version or "2c", "source": Source(loc.file, loc.line)}
    cred = build(SnmpCredential, body, loc, issues, fixed=fixed, handled=["version"])
    if cred is None or version is None:
        return None
    n = len(issues.items)

    def err(key: str, message: str) -> None:
        where = loc.key(body, key) if key in body else loc
        issues.at(where, message)

    if version in ("1", "2c"):
        if cred.community is None:
            err("community", f"SNMPv{version} needs 'community' ({{env: ...}} or {{file: ...}})")
        for key in ("user", "auth_protocol", "auth_key", "priv_protocol", "priv_key"):
            if key in body:
                err(key, f"'{key}' is for SNMPv3 only")
    else:
        if cred.user is None:
            err("user", "SNMPv3 needs 'user'")
        if "community" in body:
            err("community", "'community' is for SNMPv1/v2c only")
        _protocol(cred.auth_protocol, AUTH_PROTOCOLS, "auth_protocol", err)
        _protocol(cred.priv_protocol, PRIV_PROTOCOLS, "priv_protocol", err)
        if (cred.auth_protocol is None) != (cred.auth_key is None):
            err("auth_key", "'auth_protocol' and 'auth_key' go together")
        if (cred.priv_protocol is None) != (cred.priv_key is None):
            err("priv_key", "'priv_protocol' and 'priv_key' go together")
        if cred.priv_protocol is not None and cred.auth_protocol is None:
            err("priv_protocol", "privacy needs authentication: set 'auth_protocol' too")
    try:
        check_port(cred.port)
    except ValueError as exc:
        err("port", str(exc))
    return cred if len(issues.items) == n else None


def _protocol(value: str | None, choices: tuple[str, ...], key: str, err: Any) -> None:
    if value is not None and value not in choices:
        err(key, f"{value!r} is not one of {', '.join(choices)}")
