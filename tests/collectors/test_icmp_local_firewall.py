"""An echo dropped by a firewall rule on the monitoring host is a lost echo, as in ping(8)."""

from __future__ import annotations

import json
import subprocess

from tests.helpers.procs import netwatch_bin

RULES = """table inet t {
  chain output {
    type filter hook output priority 0; policy accept;
    ip daddr 127.9.0.2 icmp type echo-request drop
  }
}
"""


def test_output_drop_counts_as_loss_not_as_a_failed_round() -> None:
    # A private network namespace of this command alone: nothing outlives it.
    script = (
        "ip link set lo up && nft -f - && "
        f"{netwatch_bin()} ping --json --count 4 --interval 20 127.9.0.1 127.9.0.2"
    )
    r = subprocess.run(
        ["unshare", "--net", "sh", "-c", script],
        input=RULES,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 1, r.stderr  # one host lost every echo
    by_addr = {h["address"]: h for h in json.loads(r.stdout)}
    assert by_addr["127.9.0.1"]["received"] == 4
    dropped = by_addr["127.9.0.2"]
    # iputils ping counts an EPERM'd echo as transmitted: sent 4, received 0, no round error.
    assert (dropped["sent"], dropped["received"], dropped["error"]) == (4, 0, None)
    assert dropped["loss_ratio"] == 1.0
