"""Where the committed test and reference data live; nothing here reads outside the repository."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# LibreNMS's real-device recordings (GPL-3.0-or-later test data, see LICENSE.md there).
SNMPREC_DIR = REPO / "tests" / "data" / "snmprec"
# Village and district lists, coordinates and boundaries (MIT, see SOURCES.md there).
WILAYAH_DIR = REPO / "configs" / "wilayah"
# Peer configurations for benchmarks (snmp_exporter's if_mib module, Apache-2.0).
PEERS_DIR = REPO / "bench" / "peers"
