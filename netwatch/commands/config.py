"""`netwatch config check [PATH]`: validate a config and print a summary or every error."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from netwatch.commands import Subparsers

if TYPE_CHECKING:
    from netwatch.core.model import Inventory


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("config", help="check the configuration")
    sub = parser.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="validate a config file and its includes")
    check.add_argument("path", nargs="?", help="root config file (default: the packaged one)")
    check.add_argument(
        "--secrets", action="store_true", help="also read every secret reference (env, files)"
    )
    check.set_defaults(handler=check_handler)
    from netwatch.commands import config_shards

    config_shards.register(sub)


def check_handler(args: argparse.Namespace) -> int:
    from netwatch.config import ConfigError, default_config_path, load_inventory

    path = args.path or default_config_path()
    try:
        inv = load_inventory(path)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        n = len(exc.errors)
        print(f"{path}: {n} error{'s' if n != 1 else ''}", file=sys.stderr)
        return 1
    if args.secrets:
        missing = list(unreadable_secrets(inv))
        for line in missing:
            print(line, file=sys.stderr)
        if missing:
            print(f"{path}: {len(missing)} unreadable secret(s)", file=sys.stderr)
            return 1
    kinds = [v.kind.value for v in inv.villages.values()]
    print(
        f"{path}: OK: {len(inv.districts)} districts, {len(inv.villages)} villages "
        f"({kinds.count('desa')} desa, {kinds.count('kelurahan')} kelurahan), "
        f"{len(inv.devices)} devices, {len(inv.credentials)} SNMP credential(s)"
    )
    return 0


def unreadable_secrets(inv: Inventory) -> Iterator[str]:
    """`file:line: credentials.snmp.NAME.KEY: why` for each secret that cannot be read now."""
    for cred in inv.credentials.values():
        for key in ("community", "auth_key", "priv_key"):
            ref = getattr(cred, key)
            if ref is None:
                continue
            try:
                ref.resolve()
            except KeyError as exc:
                yield f"{cred.source}: credentials.snmp.{cred.name}.{key}: {exc.args[0]}"
            except OSError as exc:
                yield (
                    f"{cred.source}: credentials.snmp.{cred.name}.{key}: "
                    f"cannot read {ref.file}: {exc.strerror}"
                )
