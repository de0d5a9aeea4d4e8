"""Defect 6: 200 concurrent scrapes rendered 200 bodies at once (p50 26.8 s, 1.2 GB, missed
polls). Now one render runs at a time and the scrapes that arrive meanwhile share its body.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.helpers.netwatch_proc import config, running
from tests.helpers.procs import http_get, wait_for

# The unit half (one render at a time, shared by waiting scrapes) is in
# tests/web/test_metrics_endpoint.py.


def test_scrape_storm_shares_renders_and_polls_go_on(tmp_path: Path) -> None:
    with running(tmp_path, config()) as nw:
        wait_for(lambda: nw.echoes("purwodadi-ap-1") > 0, 20, "first round")
        renders = "netwatch_metrics_renders_total"
        before = nw.value(renders)
        missed_before = nw.value('netwatch_scheduler_missed_runs_total{collector="ping"}') or 0
        barrier = threading.Barrier(60)

        def scrape(_: int) -> tuple[int, str]:
            barrier.wait(timeout=30)
            return http_get(nw.url + "/metrics", timeout=30)

        with ThreadPoolExecutor(60) as pool:
            results = list(pool.map(scrape, range(60)))
        assert all(status == 200 for status, _ in results)
        # Whole bodies: the state families and netwatch's own registry, rendered last.
        assert all("netwatch_device_up{" in body for _, body in results)
        assert all("netwatch_build_info{" in body for _, body in results)
        done = nw.value(renders) - before
        assert 1 <= done < 60, done  # concurrent scrapes shared bodies
        missed = nw.value('netwatch_scheduler_missed_runs_total{collector="ping"}') or 0
        assert missed == missed_before
