"""The map's packaged district geometry against its source and against the inventory's
village coordinates (two independent works: boundaries and centroids, see NOTICE)."""

from __future__ import annotations

import json

from netwatch.public import mapsvg
from tests.helpers.data import WILAYAH_DIR
from tests.public.helpers import build_view, default_inventory, facts


def _inside(lon: float, lat: float, rings: list[list[tuple[float, float]]]) -> bool:
    """Even-odd ray casting over every ring (holes included)."""
    hit = False
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                hit = not hit
    return hit


def test_the_geometry_matches_its_source() -> None:
    source = json.loads((WILAYAH_DIR / "banyuwangi_districts.geojson").read_text())
    packaged = mapsvg.districts("35.10")
    assert set(packaged) == {f["properties"]["kode"] for f in source["features"]}
    for f in source["features"]:
        rings = [r for poly in f["geometry"]["coordinates"] for r in poly]
        ours = packaged[f["properties"]["kode"]]
        assert len(ours) == len(rings)
        for a, b in zip(ours, rings, strict=True):
            assert len(a) == len(b)
            tol = 0.5e-4 + 1e-9  # rounded to 4 decimals (~11 m)
            pairs = zip(a, b, strict=True)
            assert all(abs(p[0] - q[0]) <= tol and abs(p[1] - q[1]) <= tol for p, q in pairs)


def test_village_points_fall_in_their_districts() -> None:
    inv = default_inventory()
    shapes = mapsvg.districts(inv.regency_code)
    assert set(shapes) == set(inv.districts)
    outside = [
        code
        for code, v in inv.villages.items()
        if not _inside(v.lon, v.lat, shapes[v.district])  # type: ignore[arg-type]
    ]
    # Centroids of simplified village polygons near a district's edge may fall just outside
    # the simplified district boundary; almost all must be inside.
    assert len(outside) <= 6, outside


def test_the_svg_projects_points_inside_its_frame() -> None:
    inv = default_inventory()
    view = build_view(inv, facts(inv), 1_796_000_000.0)
    words = dict.fromkeys(("up", "degraded", "down", "maintenance", "unknown"), "x")
    svg = mapsvg.render(view, "35.10", "Peta", words, "/{code}")
    import re

    width, height = map(float, re.search(r'viewBox="0 0 (\S+) (\S+)"', svg).groups())
    points = [(float(x), float(y)) for x, y in re.findall(r'<use [^>]*x="(\S+)" y="(\S+)"', svg)]
    assert len(points) == 217
    assert all(0 <= x <= width and 0 <= y <= height for x, y in points)
    # North is up and east is right: Banyuwangi town (east coast) lies east of Kalibaru (west).
    town = view.villages["35.10.16.1013"]  # Kampungmandar, Kecamatan Banyuwangi
    west = view.villages["35.10.11.2001"]
    assert town.lon > west.lon
    proj = mapsvg.Projection([(v.lon, v.lat) for v in view.villages.values()])  # type: ignore[misc]
    assert proj(town.lon, town.lat)[0] > proj(west.lon, west.lat)[0]
