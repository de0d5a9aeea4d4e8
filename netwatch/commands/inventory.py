"""`netwatch inventory import|list|add|remove|set`: read and edit the inventory YAML."""

from __future__ import annotations

import argparse
import json
import sys

from netwatch.commands import Subparsers


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("inventory", help="list, import and edit devices")
    sub = parser.add_subparsers(dest="inventory_command", required=True, metavar="ACTION")

    imp = sub.add_parser("import", help="convert a spreadsheet (CSV) export to inventory YAML")
    imp.add_argument("csv", metavar="FILE.csv")
    imp.add_argument("--output", "-o", metavar="YAML", help="write here (default: stdout)")
    imp.add_argument("--regency-name", help="regency name (default: Banyuwangi for 35.10)")
    imp.set_defaults(handler=import_handler)

    lst = sub.add_parser("list", help="list devices")
    _config_arg(lst)
    lst.add_argument("--district", metavar="CODE")
    lst.add_argument("--village", metavar="CODE")
    lst.add_argument("--json", action="store_true", help="JSON instead of a table")
    lst.set_defaults(handler=list_handler)

    add = sub.add_parser("add", help="add a device to a village (or a district)")
    _config_arg(add)
    where = add.add_mutually_exclusive_group(required=True)
    where.add_argument("--village", metavar="CODE")
    where.add_argument("--district", metavar="CODE", help="a district-level device (POP, OLT)")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True)
    add.add_argument("--address", required=True)
    add.add_argument("--parent")
    add.add_argument("--snmp", metavar="CREDENTIAL")
    add.add_argument("--profile")
    add.add_argument("--tag", action="append", default=[], dest="tags")
    add.set_defaults(handler=add_handler)

    rm = sub.add_parser("remove", help="remove a device")
    _config_arg(rm)
    rm.add_argument("name")
    rm.set_defaults(handler=remove_handler)

    st = sub.add_parser("set", help="set device keys: key=value (key= removes an optional key)")
    _config_arg(st)
    st.add_argument("name")
    st.add_argument("assignments", nargs="+", metavar="key=value")
    st.set_defaults(handler=set_handler)


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", help="root config (default: the packaged one)")


def _config(args: argparse.Namespace) -> str:
    from netwatch.config import default_config_path

    return args.config or default_config_path()


def _fail(exc: Exception) -> int:
    from netwatch.config import ConfigError

    if isinstance(exc, ConfigError):
        for line in exc.errors:
            print(line, file=sys.stderr)
        print("nothing written", file=sys.stderr)
    else:
        print(f"error: {exc}", file=sys.stderr)
        if isinstance(exc, OSError):
            print("nothing written", file=sys.stderr)
    return 1


def import_handler(args: argparse.Namespace) -> int:
    from netwatch.config import ConfigError
    from netwatch.config.csv_import import import_csv
    from netwatch.config.edit import atomic_write

    try:
        text = import_csv(args.csv, regency_name=args.regency_name)
    except ConfigError as exc:
        return _fail(exc)
    if args.output:
        try:
            atomic_write(args.output, text)
        except OSError as exc:
            return _fail(exc)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def list_handler(args: argparse.Namespace) -> int:
    from netwatch.config import ConfigError, load_inventory

    try:
        inv = load_inventory(_config(args))
    except ConfigError as exc:
        return _fail(exc)
    rows = []
    for dev in inv.devices.values():
        if args.district and dev.district != args.district:
            continue
        if args.village and dev.village != args.village:
            continue
        village = inv.villages[dev.village] if dev.village else None
        rows.append(
            {
                "name": dev.name,
                "role": dev.role.value,
                "address": dev.address,
                "parent": dev.parent,
                "district": dev.district,
                "district_name": inv.districts[dev.district].name,
                "village": dev.village,
                "village_name": village.name if village else None,
                "snmp": dev.snmp,
                "profile": dev.profile,
                "tags": list(dev.tags),
            }
        )
    if args.json:
        json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    cols = ("name", "role", "address", "parent", "village", "village_name", "district_name")
    table = [cols] + [tuple(str(r[c] or "-") for c in cols) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
    for row in table:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    print(f"{len(rows)} devices")
    return 0


def add_handler(args: argparse.Namespace) -> int:
    from netwatch.config import ConfigError
    from netwatch.config.edit import EditError, Editor

    fields = {k: getattr(args, k) for k in ("name", "role", "address", "parent", "snmp")}
    fields.update(profile=args.profile, tags=args.tags)
    try:
        editor = Editor(_config(args))
        path = editor.add_device(fields, village=args.village, district=args.district)
        inv = editor.save()
    except (ConfigError, EditError, OSError) as exc:
        return _fail(exc)
    dev = inv.devices[args.name]
    where = f"village {dev.village}" if dev.village else f"district {dev.district}"
    print(f"added {dev.name} ({dev.role.value}, {dev.address}) to {where} in {path}")
    return 0


def remove_handler(args: argparse.Namespace) -> int:
    from netwatch.config import ConfigError
    from netwatch.config.edit import EditError, Editor

    try:
        editor = Editor(_config(args))
        path = editor.remove_device(args.name)
        editor.save()
    except (ConfigError, EditError, OSError) as exc:
        return _fail(exc)
    print(f"removed {args.name} from {path}")
    return 0


def set_handler(args: argparse.Namespace) -> int:
    from netwatch.config import ConfigError
    from netwatch.config.edit import EditError, Editor
    from netwatch.config.nodes import new_yaml

    changes = []
    try:
        editor = Editor(_config(args))
        name = args.name
        for item in args.assignments:
            key, sep, raw = item.partition("=")
            if not sep:
                raise EditError(f"{item!r} is not key=value")
            value = new_yaml().load(raw) if raw else None
            old, path = editor.set_device(name, key.strip(), value)
            changes.append(f"{args.name}.{key}: {_show(old)} -> {_show(value)} in {path}")
            if key.strip() == "name" and value is not None:
                name = str(value)
        editor.save()
    except (ConfigError, EditError, OSError) as exc:
        return _fail(exc)
    print("\n".join(changes))
    return 0


def _show(value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)
