"""`netwatch snmp get|walk`: one-shot SNMP queries with netwatch's engine, output as snmpwalk -On.

More subcommands plug in through `SUBCOMMANDS` (each adds its own parser); they can reuse
`add_target_arguments` and `target_from_args` for the agent address and credentials.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn

from netwatch.collectors.snmp.types import OID, Kind, SnmpError, Target, Value, parse_oid
from netwatch.commands import Subparsers

if TYPE_CHECKING:
    from netwatch.collectors.snmp.engine import SnmpEngine

Rows = list[tuple[OID, Value]]
JSONScalar = str | int | None


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("snmp", help="query an SNMP agent (get, walk)")
    sub = parser.add_subparsers(dest="snmp_command", required=True, metavar="SUBCOMMAND")
    for add in SUBCOMMANDS:
        add(sub)


def _add_get(sub: Subparsers) -> None:
    p = sub.add_parser("get", help="GET one or more OIDs")
    add_target_arguments(p)
    p.add_argument("oids", nargs="+", metavar="OID", help="numeric OIDs")
    p.add_argument("--json", action="store_true", help="print JSON instead of snmpget-like text")
    p.set_defaults(handler=_run_get)


def _add_walk(sub: Subparsers) -> None:
    p = sub.add_parser("walk", help="walk a subtree (GETBULK on v2c/v3, GETNEXT on v1)")
    add_target_arguments(p)
    p.add_argument("oid", metavar="OID", help="numeric OID of the subtree")
    p.add_argument("--max-rows", type=int, default=100_000, help="stop after this many rows")
    p.add_argument("--json", action="store_true", help="print JSON instead of snmpwalk-like text")
    p.set_defaults(handler=_run_walk)


def _add_poll(sub: Subparsers) -> None:
    p = sub.add_parser("poll", help="poll one agent through its vendor profile, as netwatch does")
    add_target_arguments(p)
    p.add_argument("--profile", help="profile name (default: detect by sysObjectID)")
    p.add_argument("--profiles-dir", action="append", default=[], metavar="DIR",
                   help="extra directory of profile *.yaml (repeatable)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the observation as JSON")
    p.set_defaults(handler=_run_poll)


def _run_poll(args: argparse.Namespace) -> int:
    from netwatch.commands.snmp_poll import run_poll

    return run_poll(args, target_from_args(args))


SUBCOMMANDS: list[Callable[[Subparsers], None]] = [_add_get, _add_walk, _add_poll]


def add_target_arguments(p: argparse.ArgumentParser) -> None:
    """TARGET plus version, credentials and timing options."""
    p.add_argument("target", metavar="TARGET",
                   help="agent address: ADDRESS, ADDRESS:PORT or [IPv6]:PORT")  # fmt: skip
    p.add_argument("--version", "-v", dest="snmp_version", choices=("1", "2c", "3"),
                   default="2c", help="SNMP version (default 2c)")  # fmt: skip
    p.add_argument("--port", type=int, default=None,
                   help="UDP port (default 161; or write it in TARGET)")  # fmt: skip
    p.add_argument("--community", "-c", default=None, help="v1/v2c community (default public)")
    p.add_argument("--community-env", metavar="VAR", help="read the community from $VAR")
    p.add_argument("--v3-user", "-u", help="SNMPv3 USM user name")
    p.add_argument("--auth-proto", "-a", help="md5|sha|sha224|sha256|sha384|sha512")
    p.add_argument("--auth-key", "-A",
                   help="auth passphrase (visible in ps: prefer --auth-key-env)")  # fmt: skip
    p.add_argument("--auth-key-env", metavar="VAR", help="read the auth passphrase from $VAR")
    p.add_argument("--priv-proto", "-x", help="des|aes128|aes192|aes256|aes192c|aes256c")
    p.add_argument("--priv-key", "-X",
                   help="privacy passphrase (visible in ps: prefer --priv-key-env)")  # fmt: skip
    p.add_argument("--priv-key-env", metavar="VAR", help="read the privacy passphrase from $VAR")
    p.add_argument("--context", "-n", default="", help="SNMPv3 context name")
    p.add_argument("--timeout", "-t", type=float, default=2.0, help="seconds per try")
    p.add_argument("--retries", "-r", type=int, default=1, help="re-sends after a timeout")
    p.add_argument("--max-repetitions", type=int, default=25, help="GETBULK max-repetitions")
    p.add_argument("--bulk-varbinds", type=int, default=100,
                   help="poll: varbinds one GETBULK of several columns asks for "
                        "(0: one column per walk)")  # fmt: skip


def usage_error(message: str) -> NoReturn:
    """One line on stderr and exit 2, as argparse does for a bad option (no traceback)."""
    print(f"netwatch snmp: {message}", file=sys.stderr)
    raise SystemExit(2)


def _secret(value: str | None, env: str | None, what: str) -> str | None:
    if env:
        try:
            return os.environ[env]
        except KeyError:
            usage_error(f"environment variable {env} ({what}) is not set")
    return value


def _address_and_port(target: str, option: int | None) -> tuple[str, int]:
    """TARGET's address and the one port given (in TARGET or by --port), checked as the
    inventory checks addresses and ports; two different ports are an error, not a choice."""
    # Here, not at the top: importing netwatch.config loads the YAML loader (every CLI start).
    from netwatch.config.values import check_port, split_host_port

    try:
        address, written = split_host_port(target)
    except ValueError as exc:
        usage_error(f"bad target {target!r}: {exc}")
    if option is not None:
        try:
            check_port(option)
        except ValueError as exc:
            usage_error(f"--port {exc}")
        if written is not None and written != option:
            usage_error(f"target {target!r} says port {written} but --port says {option}")
    return address, written or option or 161


def target_from_args(args: argparse.Namespace) -> Target:
    """A Target from the options of add_target_arguments; exits 2 with one line on bad input."""
    address, port = _address_and_port(args.target, args.port)
    community = _secret(args.community, args.community_env, "community") or "public"
    if args.snmp_version == "3" and not args.v3_user:
        usage_error("--version 3 needs --v3-user")
    if args.bulk_varbinds < 0:
        usage_error(f"--bulk-varbinds {args.bulk_varbinds}: must be 0 or more")
    return Target(
        address=address,
        port=port,
        version=args.snmp_version,
        community=community,
        user=args.v3_user,
        auth_protocol=args.auth_proto,
        auth_key=_secret(args.auth_key, args.auth_key_env, "auth key"),
        priv_protocol=args.priv_proto,
        priv_key=_secret(args.priv_key, args.priv_key_env, "privacy key"),
        context=args.context,
        timeout=args.timeout,
        retries=args.retries,
        max_repetitions=args.max_repetitions,
        bulk_varbinds=args.bulk_varbinds,
    )


def _oid_arg(text: str) -> OID:
    try:
        oid = parse_oid(text)
    except ValueError:
        usage_error(f"{text!r} is not a numeric OID")
    if len(oid) < 2:
        usage_error(f"{text!r} is too short for an OID")
    return oid


def _run_get(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    oids = [_oid_arg(o) for o in args.oids]

    async def get(engine: SnmpEngine) -> Rows:
        return list((await engine.get(target, oids)).items())

    return _run(args, get)


def _run_walk(args: argparse.Namespace) -> int:
    target = target_from_args(args)
    root = _oid_arg(args.oid)

    async def walk(engine: SnmpEngine) -> Rows:
        return await engine.walk(target, root, max_rows=args.max_rows)

    return _run(args, walk)


def _run(args: argparse.Namespace, call: Callable[[SnmpEngine], Awaitable[Rows]]) -> int:
    from netwatch.collectors.snmp.engine import SnmpEngine

    async def main() -> Rows:
        async with SnmpEngine() as engine:
            return await call(engine)

    try:
        rows = asyncio.run(main())
    except SnmpError as exc:
        print(f"netwatch snmp: {exc.reason}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump([to_json(oid, value) for oid, value in rows], sys.stdout, indent=1)
        print()
    else:
        for oid, value in rows:
            print(format_varbind(oid, value))
    return 0


# ---- output -----------------------------------------------------------------------------

_TYPE_NAMES = {
    Kind.INTEGER: "INTEGER",
    Kind.COUNTER32: "Counter32",
    Kind.GAUGE32: "Gauge32",
    Kind.COUNTER64: "Counter64",
    Kind.TIMETICKS: "Timeticks",
    Kind.IP_ADDRESS: "IpAddress",
    Kind.OBJECT_IDENTIFIER: "OID",
    Kind.OPAQUE: "Opaque",
    Kind.OCTET_STRING: "STRING",
    Kind.NULL: "NULL",
}
_EXCEPTIONS = {
    Kind.NO_SUCH_OBJECT: "No Such Object available on this agent at this OID",
    Kind.NO_SUCH_INSTANCE: "No Such Instance currently exists at this OID",
    Kind.END_OF_MIB_VIEW: "No more variables left in this MIB View "
    "(It is past the end of the MIB tree)",
}


def _printable(data: bytes) -> bool:
    # net-snmp's rule: print as text when every byte is printable ASCII or whitespace.
    return all(32 <= b < 127 or b in (9, 10, 13) for b in data)


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02X}" for b in data)


def _ticks(t: int) -> str:
    days, rest = divmod(t, 8_640_000)
    hours, rest = divmod(rest, 360_000)
    minutes, rest = divmod(rest, 6_000)
    seconds, cs = divmod(rest, 100)
    clock = f"{hours}:{minutes:02d}:{seconds:02d}.{cs:02d}"
    if days:
        return f"{days} day{'s' if days != 1 else ''}, {clock}"
    return clock


def format_value(value: Value) -> str:
    """A value as net-snmp prints it with -On (no MIBs)."""
    kind, v = value.kind, value.value
    if kind in _EXCEPTIONS:
        return _EXCEPTIONS[kind]
    if kind == Kind.NULL:
        return "NULL"
    if kind == Kind.OCTET_STRING:
        assert isinstance(v, bytes)
        if not v:
            return '""'
        if _printable(v):
            return f'STRING: "{v.decode("ascii")}"'
        return f"Hex-STRING: {_hex(v)}"
    if kind == Kind.OPAQUE:
        assert isinstance(v, bytes)
        return f"Opaque: {_hex(v)}"
    if kind in (Kind.IP_ADDRESS, Kind.OBJECT_IDENTIFIER):
        assert isinstance(v, bytes | tuple)  # 4 address bytes, or the OID's arcs
        dotted = ".".join(map(str, v))
        return f"IpAddress: {dotted}" if kind == Kind.IP_ADDRESS else f"OID: .{dotted}"
    assert isinstance(v, int)  # every other kind is numeric
    if kind == Kind.TIMETICKS:
        return f"Timeticks: ({v}) {_ticks(v)}"
    return f"{_TYPE_NAMES[kind]}: {v}"


def format_varbind(oid: OID, value: Value) -> str:
    return "." + ".".join(map(str, oid)) + " = " + format_value(value)


def to_json(oid: OID, value: Value) -> dict[str, JSONScalar]:
    """{"oid", "type", "value"}; strings as text when printable, else "hex"."""
    kind, v = value.kind, value.value
    out: dict[str, JSONScalar] = {"oid": "." + ".".join(map(str, oid)), "type": kind.name.lower()}
    if isinstance(v, bytes):
        if kind == Kind.IP_ADDRESS:
            out["value"] = ".".join(map(str, v))
        elif _printable(v):
            out["value"] = v.decode("ascii")
        else:
            out["hex"] = v.hex()
    elif isinstance(v, tuple):
        out["value"] = "." + ".".join(map(str, v))
    else:
        out["value"] = v
    return out
