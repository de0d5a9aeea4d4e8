"""The Notifications example in docs/configuration.md loads; mistakes name file and line."""

from __future__ import annotations

import re

import pytest

from netwatch.alerting.notifiers.alertmanager import AlertmanagerTarget
from netwatch.config import ConfigError, load_inventory
from netwatch.core.model import SecretRef
from tests.helpers.shared import REPO

REGENCY = """
regency:
  code: "35.10"
  name: Banyuwangi
  districts:
    - code: "35.10.01"
      name: Pesanggaran
      villages:
        - code: "35.10.01.2001"
          name: Sarongan
          kind: desa
          devices:
            - {name: sarongan-router, role: router, address: 127.1.1.1}
"""


def example() -> str:
    doc = (REPO / "docs/configuration.md").read_text(encoding="utf-8")
    section = doc[doc.index("## Notifications") :]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


def test_documented_example_loads(tmp_path) -> None:
    cfg = tmp_path / "netwatch.yaml"
    cfg.write_text(example() + REGENCY)
    n = load_inventory(cfg).settings.notifications
    assert [c.name for c in n.contacts] == ["noc", "kec-pesanggaran", "kadis"]
    assert n.contacts[0].of("alertmanager") == (
        AlertmanagerTarget("http://10.0.0.5:9093"),
        AlertmanagerTarget("http://10.0.0.6:9093"),
    )
    assert n.contacts[0].of("webhook")[0].secret == SecretRef(env="NETWATCH_WEBHOOK_SECRET")
    assert n.contacts[1].of("telegram")[0].chat_ids == ("-1001234567890",)
    assert n.contacts[2].of("email")[0].port == 587
    assert n.routes[0].continue_routing is True
    assert n.routes[1].districts == ("35.10.01",)
    assert n.routes[1].escalation == "kadis"


def test_unknown_contact_list_names_file_and_line(tmp_path) -> None:
    text = example().replace("escalation: kadis", "escalation: kadis-typo") + REGENCY
    cfg = tmp_path / "netwatch.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_inventory(cfg)
    (msg,) = [e for e in err.value.errors if "kadis-typo" in e]
    assert f"{cfg}:" in msg
    assert "notifications.routes[1]: unknown contact list 'kadis-typo'" in msg
