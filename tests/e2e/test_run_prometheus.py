"""A real Prometheus scrapes `netwatch run`; reload with a broken file keeps monitoring."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.netwatch_proc import Netwatch, line_of, running
from tests.helpers.procs import (
    Prometheus,
    http_get,
    http_post,
    netwatch_bin,
    wait_for,
)

CONFIG = """\
settings:
  ping: {{interval: 1s, count: 3, spacing: 50ms, timeout: 500ms}}
regency:
  code: "35.10"
  name: Banyuwangi
  districts:
    - code: "35.10.07"
      name: Gambiran
      devices:
        - {{name: gambiran-pop, role: router, address: 127.7.0.1}}
      villages:
        - code: "35.10.07.2001"
          name: Purwodadi
          kind: desa
          lat: -8.3875
          lon: 114.1459
          devices:
            - {{name: purwodadi-router, role: router, address: 127.7.1.1, parent: gambiran-pop}}
            - {{name: purwodadi-ap-1, role: ap, address: 127.7.1.2, parent: purwodadi-router}}
{extra}"""

EXTRA_AP = (
    "            - {name: purwodadi-ap-2, role: ap, address: 127.7.1.3, parent: purwodadi-router}\n"
)


@pytest.fixture
def netwatch(tmp_path: Path) -> Iterator[Netwatch]:
    with running(tmp_path, CONFIG.format(extra="")) as nw:
        yield nw


def _value(prom: Prometheus, expr: str) -> float | None:
    result = prom.query(expr)
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_village_and_ping_series(netwatch: Netwatch, tmp_path: Path) -> None:
    target = netwatch.url.removeprefix("http://")
    prom = Prometheus(
        tmp_path / "prom", [{"job_name": "netwatch", "static_configs": [{"targets": [target]}]}]
    )
    try:
        up = wait_for(
            lambda: prom.query('netwatch_device_up{device="purwodadi-router"}'), 20, "device series"
        )
        labels = up[0]["metric"]
        assert labels["village"] == "35.10.07.2001" and labels["district"] == "35.10.07"
        assert labels["role"] == "router" and labels["job"] == "netwatch"
        assert up[0]["value"][1] == "1"
        info = prom.query("netwatch_village_info")
        assert len(info) == 1
        m = info[0]["metric"]
        assert (m["village_name"], m["district_name"], m["kind"]) == (
            "Purwodadi",
            "Gambiran",
            "desa",
        )
        assert (m["latitude"], m["longitude"]) == ("-8.387500", "114.145900")
        assert wait_for(
            lambda: _value(prom, 'netwatch_village_wifi_up{village="35.10.07.2001"}') == 1,
            20,
            "village up",
        )
        assert wait_for(
            lambda: _value(prom, 'netwatch_village_status{status="up"}') == 1, 20, "status up"
        )
        # Loopback answers every echo: loss 0 and replies == requests over the run.
        assert _value(prom, 'netwatch_ping_loss_ratio{device="purwodadi-ap-1"}') == 0
        rtt = _value(prom, 'netwatch_ping_rtt_avg_seconds{device="gambiran-pop"}')
        assert rtt is not None and 0 < rtt < 0.05
        sent = wait_for(
            lambda: _value(prom, 'netwatch_ping_echo_requests_total{device="gambiran-pop"}'),
            20,
            "counter",
        )
        # The echo stream reports whole rounds of outcomes, not whole rounds of 3 echoes
        # (issue 16): one scrape's counters agree, every echo answered.
        assert sent >= 3
        lost = _value(
            prom,
            'netwatch_ping_echo_requests_total{device="gambiran-pop"}'
            ' - netwatch_ping_echo_replies_total{device="gambiran-pop"}',
        )
        assert lost == 0
    finally:
        prom.close()


def test_reload_broken_file_keeps_monitoring_then_good_file_adds_device(netwatch: Netwatch) -> None:
    url, cfg, proc = netwatch.url, netwatch.config, netwatch.proc

    def echoes() -> float:
        return netwatch.echoes("purwodadi-router")

    wait_for(echoes, 20, "first round")
    good = cfg.read_text()
    broken = good.replace("address: 127.7.1.2", "address: 127.7.1.300")
    cfg.write_text(broken)
    line_no = line_of(broken, "127.7.1.300")
    status, body = http_post(url + "/-/reload")
    assert status == 500
    assert f"{cfg}:{line_no}:" in body and "127.7.1.300" in body
    metrics = http_get(url + "/metrics")[1]
    assert "netwatch_config_last_reload_successful 0.0" in metrics
    before = echoes()
    wait_for(lambda: echoes() > before, 10, "rounds go on after a failed reload")
    assert "purwodadi-ap-1" in http_get(url + "/metrics")[1]

    cfg.write_text(CONFIG.format(extra=EXTRA_AP))
    status, body = http_post(url + "/-/reload")
    assert status == 200, body
    assert "1 added" in body
    wait_for(
        lambda: 'netwatch_device_up{device="purwodadi-ap-2"' in http_get(url + "/metrics")[1],
        10,
        "new device polled",
    )
    assert "netwatch_config_last_reload_successful 1.0" in http_get(url + "/metrics")[1]
    # SIGHUP takes the same path.
    cfg.write_text(good)
    proc.send_signal(1)
    wait_for(
        lambda: "purwodadi-ap-2" not in http_get(url + "/metrics")[1],
        10,
        "device removed on SIGHUP",
    )


def test_run_refuses_a_broken_config_naming_file_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "broken.yaml"
    text = CONFIG.format(extra="").replace("role: ap", "role: antenna")
    cfg.write_text(text)
    line_no = line_of(text, "antenna")
    r = subprocess.run(
        [netwatch_bin(), "run", "--config", str(cfg)], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 1
    assert f"{cfg}:{line_no}:" in r.stderr and "antenna" in r.stderr
