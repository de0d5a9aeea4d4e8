"""Shared by `netwatch alerts` and `netwatch report`: where the database is, times, durations."""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sqlite3
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from netwatch.core.model import Inventory

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class UsageError(ValueError):
    """Bad command-line input; the message says which option."""


def add_source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="root config file (YAML): gives the database and names")
    p.add_argument("--db", help="alerting database (default: settings.alerting.db_path)")
    p.add_argument(
        "--instance",
        help="in a cluster: the instance (SHARD-REPLICA, e.g. 1-a) whose database to read",
    )
    p.add_argument("--tz", default="Asia/Jakarta", help="time zone for dates (default WIB)")


def load_inventory(args: argparse.Namespace) -> Inventory | None:
    if not args.config:
        return None
    from netwatch.cluster.member import MemberError, from_args, instance_state, settle
    from netwatch.config import load_inventory as load

    inventory = load(args.config)
    if getattr(args, "instance", None) is None:
        return inventory
    try:
        member = settle(from_args(None, None, args.instance, {}), inventory.settings.cluster)
    except MemberError as exc:
        raise UsageError(f"--instance: {exc}") from None
    return instance_state(inventory, member)


def open_db(args: argparse.Namespace, inventory: Inventory | None) -> sqlite3.Connection:
    from netwatch.alerting import store

    path = args.db or (inventory.settings.alerting.db_path if inventory is not None else None)
    if not path:
        raise UsageError("give --db PATH or --config FILE to find the alerting database")
    return store.connect(path)


def parse_duration(text: str, option: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*", text)
    if m is None:
        raise UsageError(f"{option}: {text!r} is not a duration such as 90s, 30m, 2h, 1d")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def parse_time(text: str, option: str, tz: str) -> float:
    """ISO date or date-time; naive values are in tz (WIB by default)."""
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not a date (2026-11-01) or date-time") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=ZoneInfo(tz))
    return t.timestamp()


def fmt_time(ts: float | None, tz: str) -> str:
    if ts is None:
        return "-"
    return dt.datetime.fromtimestamp(ts, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")
