"""Write the snmpsimdata_*.snmprec excerpts from the snmpsim-data wheel (PyPI, BSD-2-Clause).

Run once by hand (not by the tests): `python make_snmpsim_data_excerpts.py WHEEL_OR_DIR`.
Each excerpt keeps whole lines, unchanged and sorted by OID, of the subtrees the profiles read:
the system group, a few IF-MIB columns and the vendor columns, limited to some APs where the
controller holds thousands. README.md says which rows and why.
"""

from __future__ import annotations

import bz2
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SYSTEM = ("1.3.6.1.2.1.1.",)
IF_COLUMNS = tuple(f"1.3.6.1.2.1.2.2.1.{c}." for c in (2, 3, 7, 8)) + tuple(
    f"1.3.6.1.2.1.31.1.1.1.{c}." for c in (1, 6, 10, 15)
)


def cols(entry: str, *numbers: int) -> tuple[str, ...]:
    return tuple(f"{entry}.{n}." for n in numbers)


# source file in the wheel → (excerpt name, kept prefixes, AP-keyed prefixes, AP key spec)
# AP key spec: (state column prefix, index sub-ids forming the AP key, states kept in full,
# how many other APs to keep).
SOURCES = {
    "network/appliance/cisco-controller.snmprec.bz2": (
        "snmpsimdata_cisco_wlc",
        (*SYSTEM, *IF_COLUMNS, *cols("1.3.6.1.4.1.14179.2.1.1.1", 2, 38)),
        (
            *cols("1.3.6.1.4.1.14179.2.2.1.1", 3, 6),
            *cols("1.3.6.1.4.1.14179.2.2.2.1", 2, 4, 6, 12, 15),
            *cols("1.3.6.1.4.1.14179.2.2.13.1", 3),
        ),
        ("1.3.6.1.4.1.14179.2.2.1.1.6.", 6, {"2", "3"}, 20),
    ),
    "network/router/huawei-acu2.snmprec.bz2": (
        "snmpsimdata_huawei_ac",
        (*SYSTEM, *IF_COLUMNS),
        (
            *cols("1.3.6.1.4.1.2011.6.139.13.3.3.1", 4, 6, 43, 44),
            *cols("1.3.6.1.4.1.2011.6.139.16.1.2.1", 5, 6, 7, 24, 25, 40, 45),
            *cols("1.3.6.1.4.1.2011.6.139.17.1.1.1", 6, 9),
        ),
        ("1.3.6.1.4.1.2011.6.139.13.3.3.1.6.", 6, {"1", "4"}, 0),
    ),
    "network/wifi/ruckus-smartcell-gateway.snmprec.bz2": (
        "snmpsimdata_ruckus_scg",
        (*SYSTEM, *IF_COLUMNS, *cols("1.3.6.1.4.1.25053.1.3.2.1.1.1.2.1", 1, 12)),
        cols("1.3.6.1.4.1.25053.1.3.2.1.1.2.2.1", 5, 15, 16),
        ("1.3.6.1.4.1.25053.1.3.2.1.1.2.2.1.16.", 7, set(), 20),
    ),
    "network/wifi/aruba-7210.snmprec.bz2": (
        "snmpsimdata_arubaos_7210",
        (
            *SYSTEM,
            *IF_COLUMNS,
            *cols("1.3.6.1.4.1.14823.2.2.1.5.2.1.4.1", 3, 19),
            *cols("1.3.6.1.4.1.14823.2.2.1.5.2.1.5.1", 2, 3, 4, 6, 7),
            *cols("1.3.6.1.4.1.14823.2.2.1.5.2.1.8.1", 2),
        ),
        (),
        None,
    ),
    "network/wifi/ubiquiti-m5.snmprec.bz2": ("snmpsimdata_airos_m5", ("",), (), None),
}
# The SCG lists 103 disconnected APs among 7682: keep the first 10 of them and 20 connected.
SCG_DISCONNECTED = 10
# The AC's first APs in OID order have no radio rows: add the first 20 APs that have a radio
# with clients (hwWlanRadioOnlineStaCnt > 0), so that radios, VAPs and SSIDs are exercised.
HUAWEI_BUSY = ("1.3.6.1.4.1.2011.6.139.16.1.2.1.40.", 20)


def read_lines(root: Path | zipfile.ZipFile, name: str) -> list[str]:
    if isinstance(root, zipfile.ZipFile):
        raw = root.read(f"snmpsim_data/data/{name}")
    else:
        raw = (root / name).read_bytes()
    return bz2.decompress(raw).decode("latin-1").splitlines()


def pick_aps(lines: Iterable[str], spec: tuple[str, int, set[str], int], scg: bool) -> set[str]:
    prefix, width, keep_states, others = spec
    chosen, kept_other, kept_special = [], 0, 0
    for line in lines:
        if not line.startswith(prefix):
            continue
        index, value = line[len(prefix) :].split("|", 2)[0], line.split("|", 2)[2]
        key = ".".join(index.split(".")[:width])
        special = (value in keep_states) if not scg else value == "Disconnect"
        if special and (not scg or kept_special < SCG_DISCONNECTED):
            chosen.append(key)
            kept_special += 1
        elif not special and kept_other < others:
            chosen.append(key)
            kept_other += 1
    return set(chosen)


def busy_aps(lines: Iterable[str], prefix: str, count: int) -> set[str]:
    out: list[str] = []
    for line in lines:
        if line.startswith(prefix) and line.rsplit("|", 1)[1] != "0":
            key = ".".join(line[len(prefix) :].split("|")[0].split(".")[:6])
            if key not in out:
                out.append(key)
            if len(out) == count:
                break
    return set(out)


def excerpt(lines: list[str], keep: tuple[str, ...], ap_keyed: tuple[str, ...],
            aps: set[str] | None, width: int) -> list[str]:  # fmt: skip
    out = []
    for line in lines:
        oid = line.split("|", 1)[0] + "."
        if any(oid.startswith(p) for p in keep):
            out.append(line)
            continue
        for p in ap_keyed:
            if oid.startswith(p):
                index = oid[len(p) :].rstrip(".")
                if aps is None or ".".join(index.split(".")[:width]) in aps:
                    out.append(line)
                break
    return out


def main(source: str) -> None:
    path = Path(source)
    root: Path | zipfile.ZipFile = zipfile.ZipFile(path) if path.is_file() else path
    for name, (out_name, keep, ap_keyed, spec) in SOURCES.items():
        lines = read_lines(root, name)
        aps = pick_aps(lines, spec, out_name.endswith("scg")) if spec else None
        if out_name.endswith("huawei_ac") and aps is not None:
            aps |= busy_aps(lines, *HUAWEI_BUSY)
        kept = excerpt(lines, keep, ap_keyed, aps, spec[1] if spec else 0)
        # snmpsim answers GETNEXT in file order; the AC's recording is not in OID order.
        kept.sort(key=lambda line: [int(x) for x in line.split("|", 1)[0].split(".")])
        header = (
            f"# excerpt of snmpsim-data 1.0.1 data/{name.removesuffix('.bz2')} "
            "(BSD-2-Clause, see README.md): real device, lines unchanged, subset kept\n"
        )
        (HERE / f"{out_name}.snmprec").write_text(header + "\n".join(kept) + "\n", "latin-1")
        print(f"{out_name}: {len(kept)} of {len(lines)} lines")


if __name__ == "__main__":
    main(sys.argv[1])
