#!/usr/bin/env bash
# Install everything netwatch needs on Debian 12, idempotently.
#   scripts/setup.sh          run-time needs (the demo): Python venv, iproute2, nftables
#   scripts/setup.sh --test   also the real servers and tools the tests talk to
# Needs root for apt-get (run as root or with sudo); the venv is made in .venv of the repo.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNTIME_DEBS=(python3 python3-venv python3-pip iproute2 nftables iputils-ping)
TEST_DEBS=(snmpd snmp snmptrapd prometheus prometheus-alertmanager prometheus-snmp-exporter
           prometheus-blackbox-exporter fping victoria-metrics influxdb iptables chromium
           procps util-linux time systemd dnsmasq-base zbar-tools wrk nginx-light)
# systemd: systemd-analyze (deploy/); dnsmasq-base: DNS service probes; zbar-tools: the
# poster's QR codes; wrk, nginx-light: the public board's load benchmark and its peer.

debs=("${RUNTIME_DEBS[@]}")
extra=""
if [[ "${1:-}" == "--test" ]]; then
  debs+=("${TEST_DEBS[@]}")
  extra="[test]"
fi

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    echo "setup: run this script as root (or with sudo)" >&2
    exit 1
  fi
  echo "setup: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian's own Python on purpose: a venv under a home directory that other users cannot read
# breaks tools that drop privileges (snmpsim runs as 'nobody').
PY=/usr/bin/python3
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/pip install -q --disable-pip-version-check -e ".${extra}"

if [[ "${1:-}" == "--test" ]]; then
  # snmpsim serves the device recordings in tests; it drops privileges to 'nobody', so its
  # venv lives in a world-readable place of its own (pysmi: imported but not declared).
  SNMPSIM_VENV=${SNMPSIM_VENV:-/opt/netwatch-snmpsim}
  if [[ ! -x "$SNMPSIM_VENV/bin/snmpsim-command-responder" ]]; then
    "$PY" -m venv "$SNMPSIM_VENV"
    "$SNMPSIM_VENV/bin/pip" install -q --disable-pip-version-check \
      snmpsim==1.2.2 pysnmp==7.1.30 pysmi==2.0.0 cryptography
  fi
  chmod -R a+rX "$SNMPSIM_VENV"
fi
echo "setup: done"
