"""An operator's one-line edit of a bench inventory, shared by the benchmarks that reload one.

A reload of unchanged files starts no loader child (netwatch/config/inputs.py), so a bench
that means to measure a reload's work must change something first.
"""

from __future__ import annotations

import re
from pathlib import Path

EDITED = re.compile(r"address: (127\.[0-9.]+)")


def edit_one_line(config: Path, r: int) -> str:
    """Change the last device's address (one line, in place) to 127.254.x.y, an address no
    bench inventory gives out (run_bench's reach 127.254 only past 16 million devices); the
    r-th edit gets its own address. Returns the new address."""
    text = config.read_text()
    found = list(EDITED.finditer(text))
    assert found, "no device address in the file"
    last = found[-1]
    new = f"127.254.{r // 250}.{r % 250 + 1}"
    config.write_text(text[: last.start(1)] + new + text[last.end(1) :])
    return new
