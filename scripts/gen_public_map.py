"""Write the public board's district geometry (netwatch/public/data/districts-NN.NN.json).

    python scripts/gen_public_map.py configs/wilayah/banyuwangi_districts.geojson

Input: a GeoJSON FeatureCollection of district MultiPolygons ([lon, lat]) with properties
`kode` and `nama` (cahyadsn/wilayah_boundaries, MIT; see NOTICE). Output: the same rings,
coordinates rounded to 4 decimals (~11 m), keyed by district code; nothing reads the input
at run time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "netwatch" / "public" / "data"


def main(src: str) -> None:
    data = json.loads(Path(src).read_text(encoding="utf-8"))
    districts: dict[str, list] = {}
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = geometry["coordinates"]
        if geometry["type"] == "Polygon":
            polygons = [polygons]
        rings = [
            [[round(lon, 4), round(lat, 4)] for lon, lat in ring]
            for polygon in polygons
            for ring in polygon
        ]
        districts[feature["properties"]["kode"]] = rings
    regency = {code.rsplit(".", 1)[0] for code in districts}
    if len(regency) != 1:
        raise SystemExit(f"expected districts of one regency, got {sorted(regency)}")
    code = regency.pop()
    out = {
        "regency": code,
        "source": "cahyadsn/wilayah_boundaries db/kec (commit 3c5a7960), MIT, "
        "Copyright (c) 2024 Cahya DSN; simplified (Douglas-Peucker 0.0015 deg)",
        "districts": dict(sorted(districts.items())),
    }
    path = OUT / f"districts-{code}.json"
    path.write_text(json.dumps(out, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{path}: {len(districts)} districts, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
