"""`netwatch config check [PATH]`: validate a config and print a summary or every error."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config", help="check the configuration")
    sub = parser.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = sub.add_parser("check", help="validate a config file and its includes")
    check.add_argument("path", nargs="?", help="root config file (default: the packaged one)")
    check.set_defaults(handler=check_handler)


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
    kinds = [v.kind.value for v in inv.villages.values()]
    print(
        f"{path}: OK: {len(inv.districts)} districts, {len(inv.villages)} villages "
        f"({kinds.count('desa')} desa, {kinds.count('kelurahan')} kelurahan), "
        f"{len(inv.devices)} devices, {len(inv.credentials)} SNMP credential(s)"
    )
    return 0
