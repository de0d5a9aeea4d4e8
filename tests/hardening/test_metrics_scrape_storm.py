"""Defect 6: 200 concurrent scrapes rendered 200 bodies at once (p50 26.8 s, 1.2 GB, missed
polls). Now one render runs at a time and the scrapes that arrive meanwhile share its body;
the soak then showed that writing 200 shared 20 MB bodies still stalled the loop, so at most
web.max_concurrent_scrapes responses are written at once and the others get a fast 503.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.helpers.netwatch_proc import config, running
from tests.helpers.procs import http_get, wait_for

# The unit half (one render at a time, shared by waiting scrapes; the limit against slow
# readers) is in tests/web/test_metrics_endpoint.py.


def _value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_scrape_storm_shares_renders_bounds_writers_and_polls_go_on(tmp_path: Path) -> None:
    limit = 4
    text = config(settings=f"  web: {{max_concurrent_scrapes: {limit}}}\n")
    with running(tmp_path, text) as nw:
        wait_for(lambda: nw.echoes("purwodadi-ap-1") > 0, 20, "first round")
        renders, rejected = (
            "netwatch_metrics_renders_total",
            "netwatch_metrics_scrapes_rejected_total",
        )
        first = nw.metrics()  # one scrape: it counts its own render
        before, rejected_before = _value(first, renders), _value(first, rejected)
        echoes_before = nw.echoes("purwodadi-ap-1")
        barrier = threading.Barrier(60)

        def scrape(_: int) -> tuple[int, str]:
            barrier.wait(timeout=30)
            return http_get(nw.url + "/metrics", timeout=30)

        with ThreadPoolExecutor(60) as pool:
            results = list(pool.map(scrape, range(60)))
        served = [body for status, body in results if status == 200]
        refused = [body for status, body in results if status == 503]
        assert len(served) + len(refused) == 60, [s for s, _ in results]
        assert served, "no scrape served"
        # Whole bodies: the state families and netwatch's own registry, rendered last.
        assert all("netwatch_device_up{" in body for body in served)
        assert all("netwatch_build_info{" in body for body in served)
        assert all(f"limit {limit}" in body for body in refused)
        last = nw.metrics()
        assert _value(last, rejected) - rejected_before == len(refused)
        # Never more renders than served scrapes (sharing itself: the unit test above); the
        # scrapes in between: echoes_before's and last's own.
        assert 1 <= _value(last, renders) - before - 2 <= len(served)
        # The AP is still pinged and /healthz answers.
        wait_for(lambda: nw.echoes("purwodadi-ap-1") > echoes_before, 20, "echoes go on")
        assert http_get(nw.url + "/healthz")[0] == 200
