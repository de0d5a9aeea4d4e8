"""`netwatch report uptime`: per-village uptime, outage count and duration for a period."""

from __future__ import annotations

import argparse
import sys
import time

from netwatch.commands import Subparsers
from netwatch.commands._alertdb import (
    UsageError,
    add_source_args,
    fmt_time,
    load_inventory,
    open_db,
    parse_time,
)


def register(sub: Subparsers) -> None:
    p = sub.add_parser("report", help="reports from the alert history (SPBE uptime)")
    rsub = p.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    up = rsub.add_parser("uptime", help="per-village uptime % and outages for a period")
    add_source_args(up)
    up.add_argument("--from", dest="start", required=True, help="start date, e.g. 2026-11-01")
    up.add_argument("--to", dest="end", required=True, help="end date (exclusive), 2026-12-01")
    up.add_argument("--district", help="only this district (code)")
    up.add_argument("--regency", help="only this regency (NN.NN) or province (NN)")
    up.add_argument("--format", choices=["csv", "md"], default="csv")
    up.add_argument("--output", "-o", help="write to this file instead of stdout")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from netwatch.alerting import report
    from netwatch.alerting.store import AlertStore
    from netwatch.config import ConfigError

    try:
        inventory = load_inventory(args)
        store = AlertStore(open_db(args, inventory))
        start = parse_time(args.start, "--from", args.tz)
        end = parse_time(args.end, "--to", args.tz)
        if end <= start:
            raise UsageError("--to must be after --from")
        now = time.time()
        # Kemendagri codes nest: a village's code starts with its district's, regency's and
        # province's, so every filter is a prefix.
        prefixes = tuple(p + "." for p in (args.district, args.regency) if p)

        def wanted(code: str) -> bool:
            return all(code.startswith(p) for p in prefixes)

        codes = None
        if inventory is not None:
            codes = [c for c in inventory.villages if wanted(c)]
        intervals = store.state_intervals(start, end)
        rows = report.uptime(intervals, start, end, min(now, end), codes)
        if inventory is None:
            rows = {c: u for c, u in rows.items() if wanted(c)}
        for code, u in rows.items():
            u.district, u.regency = code.rsplit(".", 1)[0], code[:5]
            if inventory is not None:
                v = inventory.villages[code]
                d = inventory.districts.get(v.district)
                u.village_name = v.name
                u.district_name = d.name if d else ""
                u.regency_name = inventory.regency_of(v.district).name
        ordered = [rows[c] for c in sorted(rows)]
        if args.format == "csv":
            text = report.to_csv(ordered)
        else:
            title = f"Uptime {fmt_time(start, args.tz)} – {fmt_time(end, args.tz)} ({args.tz})"
            text = report.to_markdown(ordered, title)
    except (UsageError, ValueError) as exc:
        print(f"netwatch report: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:  # each error carries its own file:line
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 1
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0
