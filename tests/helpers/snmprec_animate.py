#!/usr/bin/env python3
"""Make an "animated" copy of .snmprec recordings for snmpsim.

The recordings in this folder are static: every GET returns the value that
was captured on the real device, so a poller that computes rates from two
polls sees zero traffic.  snmpsim can vary values through *variation
modules*, but only for records whose type tag names the module
(``70:numeric|...`` instead of ``70|123``).  This script writes such a copy
and leaves the originals untouched.

What it rewrites (everything else is copied byte for byte):

* sysUpTime.0 (1.3.6.1.2.1.1.3.0), TimeTicks:
    ``67:numeric|initial=<recorded>,rate=100``  -> grows 100 ticks/s
* IF-MIB octet/packet counters (ifTable 10,11,16,17 as Counter32 and
  ifXTable 6-13 as Counter64, only where the recording has type 65/70):
    ``<tag>:numeric|initial=<recorded>,rate=<r>,wrap=1``
  where r = recorded value / recorded uptime in seconds (the device's own
  long-run average, at least 1/s for non-zero counters, 0 for counters
  that were 0).  Counter32 wraps at 2**32, Counter64 at 2**64.
* sysContact.0, sysName.0, sysLocation.0 and ifAlias (plain ``4`` tag):
    ``4:writecache|value=<recorded>``  -> SNMP SET is accepted and
  remembered for the life of the simulator process.

Usage:
    python3 snmprec_animate.py SRC_DIR DST_DIR

Each SRC_DIR/*.snmprec becomes DST_DIR/*.snmprec with the same name, so the
community string does not change.  Run it on a temporary copy, never on
tests/data/snmprec (snmpsim would then serve the animated copy only).

The testbed's helper (shared reference folder, beside the recordings), kept here with lint-only
edits so that the tests need nothing outside the repository.
"""

import contextlib
import os
import sys

SYSUPTIME = "1.3.6.1.2.1.1.3.0"
COUNTER_PREFIXES = (
    # ifTable: ifInOctets, ifInUcastPkts, ifOutOctets, ifOutUcastPkts
    "1.3.6.1.2.1.2.2.1.10.",
    "1.3.6.1.2.1.2.2.1.11.",
    "1.3.6.1.2.1.2.2.1.16.",
    "1.3.6.1.2.1.2.2.1.17.",
    # ifXTable HC counters: ifHCInOctets .. ifHCOutBroadcastPkts
    "1.3.6.1.2.1.31.1.1.1.6.",
    "1.3.6.1.2.1.31.1.1.1.7.",
    "1.3.6.1.2.1.31.1.1.1.8.",
    "1.3.6.1.2.1.31.1.1.1.9.",
    "1.3.6.1.2.1.31.1.1.1.10.",
    "1.3.6.1.2.1.31.1.1.1.11.",
    "1.3.6.1.2.1.31.1.1.1.12.",
    "1.3.6.1.2.1.31.1.1.1.13.",
)
WRITABLE = ("1.3.6.1.2.1.1.4.0", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.6.0")
IFALIAS = "1.3.6.1.2.1.31.1.1.1.18."


def animate(lines):
    uptime_s = 86400.0
    for raw in lines:
        parts = raw.split(b"|", 2)
        if parts[0] == SYSUPTIME.encode() and len(parts) == 3:
            with contextlib.suppress(ValueError):
                uptime_s = max(int(parts[2].strip()) / 100.0, 1.0)
    out = []
    for raw in lines:
        parts = raw.rstrip(b"\r\n").split(b"|", 2)
        if len(parts) != 3:
            out.append(raw)
            continue
        oid, tag, value = (p.decode("iso-8859-1") for p in parts)
        new = None
        if oid == SYSUPTIME and tag == "67":
            new = f"{oid}|67:numeric|initial={int(value)},rate=100"
        elif tag in ("65", "70") and oid.startswith(COUNTER_PREFIXES):
            try:
                v = int(value)
            except ValueError:
                v = None
            if v is not None:
                rate = 0.0 if v == 0 else max(1.0, round(v / uptime_s, 3))
                new = f"{oid}|{tag}:numeric|initial={v},rate={rate},wrap=1"
        elif (
            tag == "4"
            and (oid in WRITABLE or oid.startswith(IFALIAS))
            and not any(c in value for c in ",=:")
        ):
            new = f"{oid}|4:writecache|value={value}"
        if new is None:
            out.append(raw)
        else:
            out.append(new.encode("iso-8859-1") + b"\n")
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1:]
    os.makedirs(dst, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if not name.endswith(".snmprec"):
            continue
        with open(os.path.join(src, name), "rb") as f:
            lines = f.readlines()
        with open(os.path.join(dst, name), "wb") as f:
            f.writelines(animate(lines))


if __name__ == "__main__":
    main()
