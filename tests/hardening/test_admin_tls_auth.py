"""Admin listener TLS and basic auth (exporter-toolkit's web config), scraped by Prometheus."""

from __future__ import annotations

import base64
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import bcrypt

from tests.helpers.netwatch_proc import config, config_check, running
from tests.helpers.procs import Prometheus, wait_for
from tests.helpers.smtp import self_signed


def _get(url: str, ctx: ssl.SSLContext, auth: tuple[str, str] | None = None) -> int:
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30, context=ctx) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_hash_password_command_makes_a_bcrypt_hash() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "netwatch", "web", "hash-password", "--cost", "4"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    hashed = r.stdout.strip()
    assert bcrypt.checkpw(b"s3cret", hashed.encode()) and not bcrypt.checkpw(b"x", hashed.encode())


def test_tls_and_basic_auth_with_a_real_prometheus(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    hashed = bcrypt.hashpw(b"rahasia", bcrypt.gensalt(4)).decode()
    web_cfg = (
        f"  web:\n    tls_cert_file: {cert}\n    tls_key_file: {key}\n"
        f"    basic_auth_users: {{prometheus: '{hashed}'}}\n"
    )
    ctx = ssl.create_default_context(cafile=str(cert))
    with running(tmp_path, config(settings=web_cfg), ready=None, scheme="https") as nw:
        url = nw.url
        wait_for(lambda: _get(url + "/healthz", ctx) == 401, 30, "netwatch serving TLS")
        assert _get(url + "/metrics", ctx) == 401
        assert _get(url + "/metrics", ctx, ("prometheus", "salah")) == 401
        assert _get(url + "/metrics", ctx, ("root", "rahasia")) == 401
        assert _get(url + "/metrics", ctx, ("prometheus", "rahasia")) == 200
        # Plain HTTP on the TLS port gets no answer.
        try:
            plain = urllib.request.urlopen(url.replace("https", "http") + "/metrics", timeout=5)
            assert plain.status != 200
        except (urllib.error.URLError, ConnectionError):
            pass
        target = url.removeprefix("https://")
        prom = Prometheus(
            tmp_path / "prom",
            [
                {
                    "job_name": "netwatch",
                    "scheme": "https",
                    "tls_config": {"ca_file": str(cert)},
                    "basic_auth": {"username": "prometheus", "password": "rahasia"},
                    "static_configs": [{"targets": [target]}],
                }
            ],
        )
        try:
            up = wait_for(lambda: prom.query('up{job="netwatch"} == 1'), 30, "TLS scrape")
            assert up[0]["metric"]["instance"] == target
            assert wait_for(lambda: prom.query("netwatch_device_info"), 20, "series")
        finally:
            prom.close()


def test_bad_web_settings_are_config_errors(tmp_path: Path) -> None:
    text = config(settings="  web: {basic_auth_users: {admin: hunter2}, tls_cert_file: /x}\n")
    r = config_check(tmp_path, text)
    assert r.returncode == 1
    assert "basic_auth_users.admin: not a bcrypt hash" in r.stderr
