"""`netwatch alerts list|history|ack|silence`: the alert database from the command line."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from typing import TYPE_CHECKING

from netwatch.alerting import complaint_links
from netwatch.commands import Subparsers
from netwatch.commands._alertdb import (
    UsageError,
    add_source_args,
    fmt_time,
    load_inventory,
    open_db,
    parse_duration,
    parse_time,
)

if TYPE_CHECKING:
    from netwatch.alerting.store import AlertStore


def register(sub: Subparsers) -> None:
    p = sub.add_parser("alerts", help="list, acknowledge and silence alerts")
    asub = p.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")

    ls = asub.add_parser("list", help="alerts firing now")
    add_source_args(ls)
    ls.add_argument("--district", help="district code")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")

    hist = asub.add_parser("history", help="alerts that started in a period")
    add_source_args(hist)
    hist.add_argument("--from", dest="start", help="start date (default: 7 days ago)")
    hist.add_argument("--to", dest="end", help="end date (default: now)")
    hist.add_argument("--village", help="village code")
    hist.add_argument("--district", help="district code")
    hist.add_argument("--limit", type=int, default=200)
    hist.add_argument("--json", action="store_true", help="one JSON object per line")

    ack = asub.add_parser("ack", help="acknowledge a firing alert: stops reminders/escalation")
    add_source_args(ack)
    ack.add_argument("alert", help="alert id or fingerprint (from `alerts list`)")
    ack.add_argument("--by", required=True, help="who takes it")
    ack.add_argument("--comment", default="")

    sil = asub.add_parser("silence", help="add, list or expire silences")
    add_source_args(sil)
    sil.add_argument("action", choices=["add", "list", "expire"], nargs="?", default="list")
    sil.add_argument("id", nargs="?", type=int, help="silence id (expire)")
    for label in ("village", "district", "device", "alertname", "severity"):
        sil.add_argument(f"--{label}", help=f"match alerts whose {label} label equals this")
    sil.add_argument("--duration", help="how long, e.g. 2h (default 1h)")
    sil.add_argument("--start", help="start date-time (default: now)")
    sil.add_argument("--until", help="end date-time (instead of --duration)")
    sil.add_argument("--by", help="who silences (required for add)")
    sil.add_argument("--comment", default="")
    sil.add_argument("--all", action="store_true", help="list: include ended silences")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from netwatch.alerting.store import AlertStore
    from netwatch.config import ConfigError

    try:
        inventory = load_inventory(args)
        store = AlertStore(open_db(args, inventory))
        return {"list": _list, "history": _history, "ack": _ack, "silence": _silence}[
            args.alerts_command
        ](args, store)
    except (UsageError, ValueError) as exc:
        print(f"netwatch alerts: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:  # each error carries its own file:line
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 1


def _print_rows(
    rows: list[sqlite3.Row], tz: str, as_json: bool, complaints: dict[int, int] | None = None
) -> None:
    complaints = complaints or {}  # residents' complaints attached, by alert id
    if as_json:
        for r in rows:
            d = dict(r)
            d["complaints"] = complaints.get(r["id"], 0)
            d["labels"] = json.loads(d["labels"])
            d["down_devices"] = json.loads(d["down_devices"])
            d["affected_villages"] = json.loads(d["affected_villages"])
            print(json.dumps(d, sort_keys=True, ensure_ascii=False))
        return
    print(f"{'ID':>6}  {'FINGERPRINT':16}  {'ALERT':20}  {'TARGET':28}  {'SINCE':19}  STATUS")
    for r in rows:
        labels = json.loads(r["labels"])
        target = labels.get("village") or labels.get("device", "")
        name = labels.get("village_name")
        target = f"{target} {name}" if name else target
        status = r["state"]
        if r["state"] == "resolved":
            status += f" {fmt_time(r['ends_at'], tz)}"
        if r["suppressed_by"] and r["notified_at"] is None:
            status += f" (held: {r['suppressed_by']})"
        elif r["suppressed_by"]:  # notified, then inhibited by another open alert (muting.py)
            status += f" ({r['suppressed_by']})"
        if r["acknowledged_by"]:
            status += f" (ack {r['acknowledged_by']})"
        if complaints.get(r["id"]):
            status += f" ({complaints[r['id']]} complaints)"
        print(
            f"{r['id']:>6}  {r['fingerprint']:16}  {r['alertname'][:20]:20}  {target[:28]:28}"
            f"  {fmt_time(r['starts_at'], tz):19}  {status}"
        )


def _complaints(store: AlertStore, rows: list[sqlite3.Row]) -> dict[int, int]:
    """Residents' complaints attached to each alert (alerting/correlation.py)."""
    return complaint_links.counts(store.conn, (r["id"] for r in rows))


def _list(args: argparse.Namespace, store: AlertStore) -> int:
    rows = store.firing(args.district)
    _print_rows(rows, args.tz, args.json, _complaints(store, rows))
    return 0


def _history(args: argparse.Namespace, store: AlertStore) -> int:
    now = time.time()
    start = parse_time(args.start, "--from", args.tz) if args.start else now - 7 * 86400
    end = parse_time(args.end, "--to", args.tz) if args.end else now
    rows = store.history(start, end, args.limit, args.village, args.district)
    _print_rows(rows, args.tz, args.json, _complaints(store, rows))
    return 0


def _ack(args: argparse.Namespace, store: AlertStore) -> int:
    row = store.acknowledge(args.alert, args.by, args.comment, time.time())
    if row is None:
        raise UsageError(f"no firing alert with id or fingerprint {args.alert!r}")
    print(f"acknowledged alert {row['id']} ({row['fingerprint']}) by {args.by}")
    return 0


def _silence(args: argparse.Namespace, store: AlertStore) -> int:
    from netwatch.alerting import silences

    conn = store.conn
    now = time.time()
    if args.action == "list":
        for s in silences.load(conn, now, include_ended=args.all):
            state = "active" if s.active(now) else "ended" if s.ends_at <= now else "pending"
            matchers = ",".join(f"{k}={v}" for k, v in sorted(s.matchers.items()))
            print(
                f"{s.id:>4}  {state:7}  {fmt_time(s.starts_at, args.tz)} → "
                f"{fmt_time(s.ends_at, args.tz)}  {matchers}  by {s.created_by}: {s.comment}"
            )
        return 0
    if args.action == "expire":
        if args.id is None:
            raise UsageError("silence expire needs the silence id")
        if not silences.expire(conn, args.id, now):
            raise UsageError(f"no active silence {args.id}")
        print(f"silence {args.id} expired")
        return 0
    if not args.by:
        raise UsageError("silence add needs --by NAME")
    labels: dict[str, str] = {
        k: getattr(args, k)
        for k in ("village", "district", "device", "alertname", "severity")
        if getattr(args, k)
    }
    start = parse_time(args.start, "--start", args.tz) if args.start else now
    if args.until:
        end = parse_time(args.until, "--until", args.tz)
    else:
        end = start + parse_duration(args.duration or "1h", "--duration")
    sid = silences.add(conn, labels, start, end, args.by, args.comment, now)
    print(f"silence {sid} until {fmt_time(end, args.tz)}")
    return 0
