"""Relative state paths resolve next to the root config, whatever the working directory."""

from __future__ import annotations

import os
from pathlib import Path

from netwatch.config import load_inventory

CONFIG = """\
settings:
  alerting: {db_path: state/alerts.sqlite3}
  influxdb: {url: "http://127.0.0.1:8086", bucket: nw, spool_dir: spool}
regency:
  code: "35.10"
  name: Banyuwangi
  districts: []
"""


def test_relative_paths_anchor_at_the_config_folder(tmp_path: Path, monkeypatch) -> None:
    cfg = tmp_path / "etc" / "netwatch.yaml"
    cfg.parent.mkdir()
    cfg.write_text(CONFIG)
    monkeypatch.chdir("/")
    inv = load_inventory(cfg)
    assert inv.settings.alerting.db_path == str(tmp_path / "etc" / "state" / "alerts.sqlite3")
    assert inv.settings.influxdb.spool_dir == str(tmp_path / "etc" / "spool")


def test_absolute_and_default_paths(tmp_path: Path) -> None:
    cfg = tmp_path / "n.yaml"
    cfg.write_text(
        CONFIG.replace("db_path: state/alerts.sqlite3", "db_path: /var/lib/netwatch/a.db")
    )
    inv = load_inventory(cfg)
    assert inv.settings.alerting.db_path == "/var/lib/netwatch/a.db"
    bare = tmp_path / "bare.yaml"
    bare.write_text(CONFIG.split("settings:")[0] + CONFIG.split("\n", 3)[3])
    assert load_inventory(bare).settings.alerting.db_path == os.path.join(
        tmp_path, "netwatch-alerts.sqlite3"
    )
