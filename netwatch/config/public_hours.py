"""Cross-checks of settings.public against the inventory, at the line of each bad code."""

from __future__ import annotations

from collections.abc import Mapping

from netwatch.config.errors import Issues
from netwatch.config.nodes import Loc, YamlValue
from netwatch.config.regency import Tree
from netwatch.core.public_settings import parse_hours, unknown_codes


def check_public(settings_node: YamlValue, loc: Loc, tree: Tree, issues: Issues) -> None:
    """Every entry of settings.public.wifi_hours is readable office hours for a province,
    regency, district or village of the inventory."""
    if not isinstance(settings_node, Mapping):
        return
    public = settings_node.get("public")
    if not isinstance(public, Mapping):
        return
    hours = public.get("wifi_hours")
    if not isinstance(hours, Mapping):
        return
    ploc = loc.key(settings_node, "public")
    hloc = ploc.key(public, "wifi_hours")
    districts = [p.item.code for p in tree.districts]
    villages = [p.item.code for p in tree.villages]
    regencies = {d[:5] for d in districts}
    for code in unknown_codes(hours, regencies, districts, villages):
        where = hloc.key(hours, code)
        issues.at(where, f"{code!r} is no regency, district or village of the inventory")
    for code, text in hours.items():
        if isinstance(text, str):  # other types are reported by the settings builder
            try:
                parse_hours(text)
            except ValueError as exc:
                issues.at(hloc.key(hours, code), str(exc))
