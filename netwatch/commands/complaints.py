"""`netwatch complaints list|close`: residents' reports from the public board's complaint box."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time

from netwatch.commands._alertdb import UsageError, fmt_time, load_inventory, parse_time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("complaints", help="list and close residents' complaints (public board)")
    csub = p.add_subparsers(dest="complaints_command", required=True, metavar="ACTION")

    def source(q: argparse.ArgumentParser) -> None:
        q.add_argument("--config", help="root config file (YAML): gives the store and names")
        q.add_argument("--db", help="complaint store (default: settings.public.complaints_db)")
        q.add_argument("--tz", default="Asia/Jakarta", help="time zone for dates (default WIB)")

    ls = csub.add_parser("list", help="complaints, newest first (open ones by default)")
    source(ls)
    which = ls.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="open and closed")
    which.add_argument("--closed", action="store_true", help="closed ones only")
    ls.add_argument("--village", help="village code")
    ls.add_argument("--district", help="district code")
    ls.add_argument("--since", help="received on or after this date (e.g. 2026-11-01)")
    ls.add_argument("--limit", type=int, default=200)
    ls.add_argument("--json", action="store_true", help="one JSON object per line")

    close = csub.add_parser("close", help="close complaints once checked")
    source(close)
    close.add_argument("ids", nargs="+", type=int, metavar="ID", help="complaint numbers")
    close.add_argument("--by", help="who closes them (default: the login name)")
    close.add_argument("--comment", default="", help="what was found or done")
    p.set_defaults(handler=handle)


def _store(args: argparse.Namespace, inventory: object) -> object:
    from netwatch.public.complaints import ComplaintStore

    path = args.db
    if path is None and inventory is not None:
        path = inventory.settings.public.complaints_db  # type: ignore[attr-defined]
    if not path:
        raise UsageError("give --db PATH or --config FILE to find the complaint store")
    if not os.path.exists(path):
        raise UsageError(f"no complaint store at {path} (has the public board run?)")
    return ComplaintStore(path)


def handle(args: argparse.Namespace) -> int:
    from netwatch.config import ConfigError
    from netwatch.public.complaints import StoreError

    try:
        inventory = load_inventory(args)
        store = _store(args, inventory)
        if args.complaints_command == "list":
            return _list(args, store, inventory)
        return _close(args, store)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 1
    except (UsageError, StoreError, ValueError) as exc:
        print(f"netwatch complaints: {exc}", file=sys.stderr)
        return 2


def _clean(text: str) -> str:
    """One line, no terminal control characters: the text comes from the public."""
    return "".join(ch if ch.isprintable() else " " for ch in text.replace("\n", " "))


def _list(args: argparse.Namespace, store, inventory) -> int:
    status = None if args.all else "closed" if args.closed else "open"
    since = parse_time(args.since, "--since", args.tz) if args.since else None
    rows = store.list(
        status=status, village=args.village, district=args.district, since=since, limit=args.limit
    )
    names = {c: v.name for c, v in inventory.villages.items()} if inventory is not None else {}
    if args.json:
        for c in rows:
            record = {
                "id": c.id,
                "village": c.village,
                "village_name": names.get(c.village),
                "district": c.district,
                "category": c.category,
                "text": c.text,
                "received_at": c.received_at,
                "measured_state": c.measured_state,
                "outage_known": c.outage_known,
                "status": c.status,
                "closed_at": c.closed_at,
                "closed_by": c.closed_by,
                "close_comment": c.close_comment,
            }
            print(json.dumps(record, ensure_ascii=False))
        return 0
    head = ("ID", "RECEIVED", "VILLAGE", "NAME", "CATEGORY", "MEASURED", "KNOWN", "STATUS", "TEXT")
    table = [head]
    for c in rows:
        table.append(
            (
                str(c.id),
                fmt_time(c.received_at, args.tz),
                c.village,
                _clean(names.get(c.village, "")),
                c.category,
                c.measured_state,
                "yes" if c.outage_known else "no",
                c.status,
                _clean(c.text)[:60],
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    for r in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    if len(rows) == 0:
        print("no complaints", file=sys.stderr)
    return 0


def _close(args: argparse.Namespace, store) -> int:
    by = args.by or getpass.getuser()
    result = store.close(args.ids, by=by, comment=args.comment, now=time.time())
    failed = 0
    for i, outcome in result.items():
        print(f"complaint {i}: {outcome}")
        failed += outcome == "not found"
    return 1 if failed else 0
