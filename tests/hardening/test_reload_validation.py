"""Defect 1: a reload validates everything before swapping; no monitoring job is ever lost.

`ping.interval: .nan` used to pass validation; the reload then removed the changed job and
never added it back (0 echoes afterwards), and `.inf` killed `netwatch run` with a traceback.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers.netwatch_proc import config, config_check, line_of, running
from tests.helpers.procs import http_post, netwatch_bin, wait_for

BAD_VALUES = [
    (".nan", "finite"),
    (".inf", "finite"),
    ("-.inf", "finite"),
    ("1e300", "at most"),
    ("0", "> 0"),
]


@pytest.mark.parametrize(("value", "says"), BAD_VALUES)
def test_config_check_rejects_non_finite_and_out_of_range(tmp_path: Path, value, says) -> None:
    text = config(interval=value)
    cfg = tmp_path / "n.yaml"
    r = config_check(tmp_path, text)
    assert r.returncode == 1, r.stdout
    assert f"{cfg}:{line_of(text, 'interval:')}: settings.ping.interval:" in r.stderr
    assert says in r.stderr


def test_device_interval_and_every_duration_must_be_finite(tmp_path: Path) -> None:
    text = config().replace(
        "address: 127.7.1.2,", "address: 127.7.1.2, ping_interval: .nan, snmp_interval: -5,"
    )
    text = text.replace("settings:\n", "settings:\n  alerting: {upstream_wait: .inf}\n")
    cfg = tmp_path / "n.yaml"
    r = config_check(tmp_path, text)
    assert r.returncode == 1
    line = line_of(text, "ping_interval")
    assert f"{cfg}:{line}: regency.districts[0].villages[0].devices[1].ping_interval:" in r.stderr
    assert f"{cfg}:{line}: regency.districts[0].villages[0].devices[1].snmp_interval:" in r.stderr
    assert "settings.alerting.upstream_wait: must be a finite number" in r.stderr


def test_run_with_inf_interval_exits_with_the_config_error_not_a_traceback(tmp_path) -> None:
    cfg = tmp_path / "n.yaml"
    text = config(interval=".inf")
    cfg.write_text(text)
    r = subprocess.run(
        [netwatch_bin(), "run", "--config", str(cfg), "--listen", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert f"{cfg}:{line_of(text, 'interval:')}: settings.ping.interval:" in r.stderr


def test_device_keeps_being_pinged_across_bad_and_good_reloads(tmp_path: Path) -> None:
    good = config()
    with running(tmp_path, good) as nw:
        dev = "purwodadi-ap-1"
        wait_for(lambda: nw.echoes(dev) > 0, 20, "first round")

        def still_pinged() -> None:
            before = nw.echoes(dev)
            wait_for(lambda: nw.echoes(dev) > before, 15, "rounds go on")

        for bad in (
            config(interval=".nan"),
            config(interval=".inf"),
            good.replace("address: 127.7.1.2,", "address: 127.7.1.2, ping_interval: .nan,"),
            config(settings="  scheduler: {misfire_grace: .inf}\n"),
        ):
            nw.config.write_text(bad)
            status, body = http_post(nw.url + "/-/reload")
            assert status == 500, body
            assert "reload failed" in body and str(nw.config) in body and "finite" in body
            assert nw.value("netwatch_config_last_reload_successful") == 0
            still_pinged()
        # A good file that changes the interval: the changed job comes back at once.
        nw.config.write_text(config(interval="2s"))
        status, body = http_post(nw.url + "/-/reload")
        assert status == 200, body
        assert "changed" in body
        assert nw.value("netwatch_config_last_reload_successful") == 1
        assert nw.value('netwatch_scheduler_jobs{collector="ping"}') == 3
        still_pinged()
        nw.config.write_text(good)
        assert http_post(nw.url + "/-/reload")[0] == 200
        still_pinged()
