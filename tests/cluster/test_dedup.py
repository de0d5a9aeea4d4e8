"""Two replicas of one shard, deduplicated by VictoriaMetrics: every dashboard query gives the
series one replica alone gives, and the counts do not double.

Real parts: two `netwatch run` processes (replicas a and b of a 1 x 2 cluster, pinging loopback
devices) scraped by two VictoriaMetrics: one takes both replicas with the documented relabelling
and `-dedup.minScrapeInterval`, the other replica a alone (the reference).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.config.test_regions import PROVINCE
from tests.helpers import grafana
from tests.helpers.configs import write
from tests.helpers.procs import free_port, http_get, netwatch_bin, stop, wait_for
from tests.helpers.victoriametrics import BINARY, VictoriaMetrics

SCRAPE = 2  # seconds; also the dedup interval, as VictoriaMetrics' docs ask
VARS = {
    "__rate_interval": "10s",
    "__interval": "2s",
    "__range": "20s",
    "regency": ".*",  # the overview's All
    "district": "35.09.01",
    "village": "35.09.01.2001",
    "device": "r-35-09-01-2001",
    "job": "netwatch",
}
# What differs between two independent pollers: measured times, rates, process health.
MEASURED = ("rtt", "jitter", "rate(", "timestamp", "duration", "lag", "increase(", "_bytes")


def scrape_config(targets: dict[str, int]) -> dict[str, Any]:
    """The docs/scaling.md scrape job for VictoriaMetrics (JSON is YAML)."""
    return {
        "global": {"scrape_interval": f"{SCRAPE}s"},
        "scrape_configs": [
            {
                "job_name": "netwatch",
                "static_configs": [
                    {"targets": [f"127.0.0.1:{port}"], "labels": {"shard": "0", "replica": r}}
                    for r, port in targets.items()
                ],
                # Both replicas' series must be identical but for `replica` to be merged:
                # instance names the shard, not the process.
                "relabel_configs": [
                    {
                        "source_labels": ["shard"],
                        "target_label": "instance",
                        "replacement": "netwatch-shard-$1",
                    }
                ],
                # Series about a place (they carry district or regency) drop `replica` and
                # merge; series about the process (heartbeat, scheduler, up) keep it.
                # Plain Prometheus relabelling (an empty value deletes a label): it works the
                # same in Prometheus' write_relabel_configs and in vmagent.
                "metric_relabel_configs": [
                    {
                        "source_labels": ["district", "regency"],
                        "regex": ".+;.*|.*;.+",
                        "target_label": "replica",
                        "replacement": "",
                    }
                ],
            }
        ],
    }


class Stack:
    def __init__(self, work: Path) -> None:
        self.work = work
        config = "settings:\n  ping: {interval: 1s, count: 2, spacing: 100ms, timeout: 500ms}\n"
        config += "  cluster: {shards: 1, replicas: 2}\n" + PROVINCE
        self.config = write(work, config)
        self.ports = {"a": free_port(), "b": free_port()}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.vms: list[VictoriaMetrics] = []

    def start(self) -> None:
        for replica, port in self.ports.items():
            listen = f"127.0.0.1:{port}"
            argv = [netwatch_bin(), "run", "--config", str(self.config), "--log-level",
                    "warning", "--instance", f"0-{replica}", "--listen", listen]  # fmt: skip
            self.procs.append(subprocess.Popen(argv, cwd=self.work, stdout=subprocess.DEVNULL))
        for port in self.ports.values():
            wait_for(lambda p=port: ready(p), 60, f"netwatch on {port}", 0.2)
        for name, targets, extra in (
            ("dedup", self.ports, (f"-dedup.minScrapeInterval={SCRAPE}s",)),
            ("single", {"a": self.ports["a"]}, ()),
        ):
            path = self.work / f"{name}.yml"
            path.write_text(json.dumps(scrape_config(targets)))
            vm = VictoriaMetrics(self.work / name, extra=(f"-promscrape.config={path}", *extra))
            vm.start()
            self.vms.append(vm)

    def stop(self) -> None:
        for vm in self.vms:
            vm.stop()
        for proc in self.procs:
            stop(proc)


def ready(port: int) -> bool:
    try:
        return http_get(f"http://127.0.0.1:{port}/readyz", 1.0)[0] == 200
    except OSError:
        return False


def query(vm: VictoriaMetrics, expr: str) -> list[dict[str, Any]]:
    q = urllib.parse.urlencode({"query": expr})
    status, body = http_get(f"{vm.url}/api/v1/query?{q}", 10.0)
    assert status == 200, (expr, body)
    return json.loads(body)["data"]["result"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if shutil.which(BINARY) is None:
        pytest.fail(f"{BINARY} is not installed (Debian package victoria-metrics)")
    s = Stack(tmp_path_factory.mktemp("dedup"))
    try:
        s.start()
        dedup, single = s.vms

        def settled() -> bool:
            # Both replicas scraped (two heartbeats), 20 s of rounds for the rate windows.
            beats = query(dedup, "netwatch_heartbeat_timestamp_seconds")
            rounds = query(single, "count_over_time(netwatch_village_wifi_up[20s]) >= 8")
            return len(beats) == 2 and len(rounds) == 2

        wait_for(settled, 90, "both replicas scraped for 20 s", 1)
        yield s
    finally:
        s.stop()


def bare(result: list[dict[str, Any]]) -> set[str]:
    """The series without their replica label."""
    return {
        json.dumps({k: v for k, v in r["metric"].items() if k != "replica"}, sort_keys=True)
        for r in result
    }


def series(result: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(r["metric"], sort_keys=True) for r in result)


QUERIES = [q for q in grafana.queries("prometheus") if "ALERTS" not in q.text]
SELF = "prometheus/netwatch.json"  # netwatch itself: one line per process, by design
PLACES = [q for q in QUERIES if q.dashboard != SELF]


@pytest.mark.parametrize("q", PLACES, ids=lambda q: q.id)
def test_dashboard_query_on_deduplicated_replicas_matches_one_replica(stack, q) -> None:
    dedup, single = stack.vms
    expr = grafana.substitute(q.text, VARS)
    got, want = query(dedup, expr), query(single, expr)
    assert series(got) == series(want), expr
    if not any(m in expr for m in MEASURED):
        # States, counts and inventory facts: the same numbers, not twice them.
        values = {json.dumps(r["metric"], sort_keys=True): r["value"][1] for r in got}
        assert values == {json.dumps(r["metric"], sort_keys=True): r["value"][1] for r in want}


@pytest.mark.parametrize("q", [q for q in QUERIES if q.dashboard == SELF], ids=lambda q: q.id)
def test_netwatch_dashboard_shows_each_replica(stack, q) -> None:
    dedup, single = stack.vms
    expr = grafana.substitute(q.text, VARS)
    got, want = query(dedup, expr), query(single, expr)
    # The same series as one replica's, once per replica where they name the process.
    assert bare(got) == bare(want), expr
    if any(r["metric"].get("replica") for r in got):
        assert {r["metric"].get("replica") for r in got} == {"a", "b"}, expr


def test_counts_are_not_doubled_and_counters_stay_whole(stack) -> None:
    dedup, single = stack.vms
    # The config: 2 villages (one per regency), 6 devices.
    (devices,) = query(dedup, "count(netwatch_device_info)")
    assert devices["value"][1] == "6"
    status = {r["metric"]["status"]: r["value"][1] for r in
              query(dedup, "sum by (status) (netwatch_village_status)")}  # fmt: skip
    assert status == {"up": "2", "degraded": "0", "down": "0", "unknown": "0"}
    # The replicas' heartbeats stay apart (the dead-man's switch counts them).
    beats = query(dedup, "netwatch_heartbeat_timestamp_seconds")
    assert sorted(r["metric"]["replica"] for r in beats) == ["a", "b"]
    # Deduplication keeps one replica's samples per interval: a counter made of both
    # replicas' samples would jump back and forth, and its rate would be far off one poller's.
    expr = "sum(rate(netwatch_ping_echo_requests_total[20s]))"
    (d,), (s,) = query(dedup, expr), query(single, expr)
    # 6 devices x 2 echoes per 1 s round: 12/s from one poller.
    assert 0.7 * 12 < float(d["value"][1]) < 1.3 * 12
    assert 0.7 * 12 < float(s["value"][1]) < 1.3 * 12
