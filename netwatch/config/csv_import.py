"""Spreadsheet import: one CSV row per device → inventory YAML, errors by CSV line."""

from __future__ import annotations

import csv
import os
import re
from typing import Any

from netwatch.config.builder import did_you_mean
from netwatch.config.emit import districts_block, scalar
from netwatch.config.errors import ConfigError, Issue, Issues
from netwatch.config.loader import load_inventory

COLUMNS = (
    "village_code",
    "village_name",
    "district_code",
    "district_name",
    "kind",
    "lat",
    "lon",
    "device",
    "role",
    "address",
    "parent",
    "snmp",
    "profile",
    "tags",
)
REQUIRED = ("district_code", "district_name", "device", "role", "address")
VILLAGE_FIELDS = ("village_name", "district_code", "kind", "lat", "lon")
# YAML key → CSV column, by the level the YAML path ends in.
_COLUMN = {
    "devices": {"name": "device"},
    "villages": {"code": "village_code", "name": "village_name"},
    "districts": {"code": "district_code", "name": "district_name"},
}
_PATH_END = re.compile(r"(districts|villages|devices)\[\d+\](?:\.(\w+))?(?:\[\d+\])?$")


def import_csv(path: str, regency_name: str | None = None) -> str:
    """Read the CSV at path and return inventory YAML; ConfigError names CSV lines."""
    issues = Issues()
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(_rows(fh, path, issues))
    except OSError as exc:
        raise ConfigError([Issue(path, 0, "", f"cannot read: {exc.strerror}")]) from None
    issues.raise_if_any()
    districts, creds = _group(rows, path, issues)
    issues.raise_if_any()
    if not districts:
        raise ConfigError([Issue(path, 0, "", "no device rows")])
    # The regency is the common prefix of the district codes; bad codes are reported per row.
    valid = [d["code"] for d in districts if re.fullmatch(r"\d{2}\.\d{2}\.\d{2}", d["code"])]
    regency = valid[0][:5] if valid else "35.10"
    name = regency_name or ("Banyuwangi" if regency == "35.10" else regency)
    origins: list = []
    head = [
        f"# Imported from {os.path.basename(path)!r} by `netwatch inventory import`.",
        "# Check each credential: its SNMP version and where its secret comes from.",
    ]
    if creds:
        head += ["credentials:", "  snmp:"]
        secret = "{env: NETWATCH_SNMP_COMMUNITY}"
        head += [f"    {scalar(c)}: {{version: 2c, community: {secret}}}" for c in creds]
    head += ["", "regency:", f'  code: "{regency}"', f"  name: {scalar(name)}"]
    lines = head + districts_block(districts, origins=origins)
    origins = [None] * len(head) + origins
    text = "\n".join(lines) + "\n"
    shadow = path + ".yaml"
    try:
        load_inventory(shadow, texts={shadow: text})
    except ConfigError as exc:
        raise ConfigError([_to_row(i, origins, path, shadow) for i in exc.issues]) from None
    return text


def _rows(fh: Any, path: str, issues: Issues):
    reader = csv.DictReader(fh)
    header = reader.fieldnames or []
    for col in header:
        if col not in COLUMNS:
            issues.add(path, 1, col, f"unknown column{did_you_mean(col, COLUMNS)}")
    for col in REQUIRED:
        if col not in header:
            issues.add(path, 1, col, "missing column")
    if issues:
        return
    for row in reader:
        clean = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if any(clean.values()):
            yield reader.line_num, clean


def _group(rows: list, path: str, issues: Issues) -> tuple[list[dict], list[str]]:
    districts: dict[str, dict] = {}
    villages: dict[str, dict] = {}
    first: dict[str, tuple[int, dict]] = {}
    creds: list[str] = []
    for line, row in rows:
        dcode = row["district_code"]
        d = districts.setdefault(
            dcode,
            {
                "code": dcode,
                "name": row["district_name"],
                "devices": [],
                "villages": [],
                "_origin": line,
            },
        )
        if row["district_name"] != d["name"]:
            issues.add(
                path,
                line,
                "district_name",
                f"{row['district_name']!r} differs from {d['name']!r} on line {d['_origin']}",
            )
        device: dict[str, Any] = {
            "name": row["device"],
            "role": row["role"],
            "address": row["address"],
            "parent": row.get("parent") or None,
            "snmp": row.get("snmp") or None,
            "profile": row.get("profile") or None,
            "tags": [t for t in re.split(r"[;,\s]+", row.get("tags", "")) if t],
            "_origin": line,
        }
        if device["snmp"] and device["snmp"] not in creds:
            creds.append(device["snmp"])
        vcode = row.get("village_code", "")
        if not vcode:
            d["devices"].append(device)
            continue
        if vcode in first:
            was_line, was = first[vcode]
            for col in VILLAGE_FIELDS:
                if row.get(col, "") != was.get(col, ""):
                    issues.add(
                        path,
                        line,
                        col,
                        f"{row.get(col, '')!r} differs from {was.get(col, '')!r} "
                        f"for village {vcode} on line {was_line}",
                    )
        else:
            first[vcode] = (line, row)
            village = {
                "code": vcode,
                "name": row.get("village_name") or None,
                "kind": row.get("kind") or None,
                "_origin": line,
                "devices": [],
            }
            for key in ("lat", "lon"):
                village[key] = _number(row.get(key, ""), path, line, key, issues)
            villages[vcode] = village
            d["villages"].append(village)
        villages[vcode]["devices"].append(device)
    return list(districts.values()), creds


def _number(text: str, path: str, line: int, col: str, issues: Issues) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        issues.add(path, line, col, f"{text!r} is not a number")
        return None


def _to_row(issue: Issue, origins: list, path: str, shadow: str) -> Issue:
    if issue.file != shadow:
        return issue
    row = origins[issue.line - 1] if 0 < issue.line <= len(origins) else None
    m = _PATH_END.search(issue.path)
    column = issue.path
    if m:
        level, key = m.group(1), m.group(2) or ""
        column = _COLUMN[level].get(key, key) or level
    message = re.sub(
        rf"first at {re.escape(shadow)}:(\d+)",
        lambda x: f"first at {path}:{origins[int(x.group(1)) - 1]}",
        issue.message,
    )
    return Issue(path, row or 0, column, message)
