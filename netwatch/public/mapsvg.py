"""The map, drawn server-side as inline SVG: district boundaries and every village as a point.

No tiles, fonts or scripts: boundaries come from package data (data/districts-NN.NN.json,
see NOTICE); each state has its own marker shape as well as its colour, and each point is a
link with a title naming the village and its state.
"""

from __future__ import annotations

import functools
import html
import json
import math
from collections.abc import Iterable
from importlib import resources

from netwatch.public.html import SHAPES
from netwatch.public.view import PublicView

WIDTH = 1000.0
Ring = list[tuple[float, float]]


@functools.cache
def districts(regency: str) -> dict[str, list[Ring]]:
    """District code → rings ([lon, lat]) for a regency; empty when none is packaged."""
    try:
        text = resources.files("netwatch.public").joinpath(f"data/districts-{regency}.json")
        data = json.loads(text.read_text(encoding="utf-8"))
    except (FileNotFoundError, OSError, ValueError):
        return {}
    return {
        code: [[(p[0], p[1]) for p in ring] for ring in rings]
        for code, rings in data["districts"].items()
    }


class Projection:
    """Equirectangular, scaled by cos(latitude) at the middle: fine at a regency's size."""

    def __init__(self, points: Iterable[tuple[float, float]], margin: float = 0.02) -> None:
        pts = list(points) or [(0.0, 0.0)]
        lons = [p[0] for p in pts]
        lats = [p[1] for p in pts]
        pad_lon = (max(lons) - min(lons)) * margin or 0.01
        pad_lat = (max(lats) - min(lats)) * margin or 0.01
        self.lon0, self.lon1 = min(lons) - pad_lon, max(lons) + pad_lon
        self.lat0, self.lat1 = min(lats) - pad_lat, max(lats) + pad_lat
        self.kx = math.cos(math.radians((self.lat0 + self.lat1) / 2))
        self.scale = WIDTH / ((self.lon1 - self.lon0) * self.kx)
        self.height = (self.lat1 - self.lat0) * self.scale

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        return ((lon - self.lon0) * self.kx * self.scale, (self.lat1 - lat) * self.scale)


def _path(rings: list[Ring], proj: Projection) -> str:
    parts = []
    for ring in rings:
        xy = [proj(lon, lat) for lon, lat in ring]
        parts.append("M" + " ".join(f"{x:.1f} {y:.1f}" for x, y in xy) + "z")
    return "".join(parts)


def render(
    view: PublicView,
    regency: str,
    title: str,
    state_words: dict[str, str],
    link: str,
    only_district: str | None = None,
) -> str:
    """Inline SVG of the regency (or one district of it) with its villages as linked points.

    link: a format string for a village's URL with {code}; state_words: state → short text.
    """
    shapes = districts(regency)
    codes = [
        c
        for d in view.regencies[regency].districts
        if only_district in (None, d)
        for c in view.districts[d].villages
    ]
    placed = [view.villages[c] for c in codes if view.villages[c].lat is not None]
    if only_district is not None and only_district in shapes:
        frame = [p for ring in shapes[only_district] for p in ring]
    else:
        frame = [p for rings in shapes.values() for ring in rings for p in ring]
    frame += [(v.lon, v.lat) for v in placed]  # type: ignore[misc]
    proj = Projection(frame)
    e = html.escape
    out = [
        f'<svg viewBox="0 0 {WIDTH:.0f} {proj.height:.0f}" role="img" '
        f'aria-labelledby="map-title" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="map-title">{e(title)}</title><defs>'
    ]
    out += [f'<g id="m-{state}">{shape}</g>' for state, shape in SHAPES.items()]
    out.append("</defs><g>")
    for code, rings in shapes.items():
        cls = "dist"
        if only_district is not None:
            cls += " sel" if code == only_district else " other"
        out.append(f'<path class="{cls}" fill-rule="evenodd" d="{_path(rings, proj)}"/>')
    out.append("</g>")
    if only_district is None:
        out.append("<g>")
        for d in view.regencies[regency].districts:
            pts = [view.villages[c] for c in view.districts[d].villages]
            pts = [v for v in pts if v.lat is not None]
            if pts:
                x, y = proj(
                    sum(v.lon for v in pts) / len(pts),  # type: ignore[misc]
                    sum(v.lat for v in pts) / len(pts),  # type: ignore[misc]
                )
                out.append(
                    f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="middle" aria-hidden="true">'
                    f"{e(view.districts[d].name)}</text>"
                )
        out.append("</g>")
    out.append("<g>")
    for v in placed:
        x, y = proj(v.lon, v.lat)  # type: ignore[arg-type]
        out.append(
            f'<a href="{e(link.format(code=v.code))}"><title>{e(v.name)}: '
            f"{e(state_words[v.state])}</title>"
            f'<use class="mk {v.state}" href="#m-{v.state}" x="{x:.1f}" y="{y:.1f}"/></a>'
        )
    out.append("</g></svg>")
    return "".join(out)
