"""Detection-time histograms for the alert benchmark: text for the terminal, SVG for docs/.

No plotting library: the SVG is a few rectangles and lines written by hand, so the picture in
docs/ needs nothing beyond the standard library to be redrawn.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from html import escape


def quantile(xs: Sequence[float], q: float) -> float:
    """The q-quantile by linear interpolation between order statistics (numpy's default)."""
    s = sorted(xs)
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summary(xs: Sequence[float]) -> str:
    if not xs:
        return "n/a"
    return (
        f"median {statistics.median(xs):.1f} s, p95 {quantile(xs, 0.95):.1f} s, "
        f"range {min(xs):.1f}–{max(xs):.1f} s, n={len(xs)}"
    )


def text(xs: Sequence[float], width: float, label: str) -> str:
    """One line per bin of `width` seconds: the bin, its count and a bar."""
    if not xs:
        return f"{label}: no data"
    lines = [f"{label}: {summary(xs)}"]
    top = math.floor(max(xs) / width)
    low = math.floor(min(xs) / width)
    for b in range(low, top + 1):
        n = sum(1 for x in xs if b * width <= x < (b + 1) * width)
        lines.append(f"  {b * width:6.1f}–{(b + 1) * width:<6.1f} {n:3d} {'█' * n}")
    return "\n".join(lines)


def svg(series: dict[str, tuple[Sequence[float], float]], title: str) -> str:
    """Side-by-side panels, one per series: (values, bin width in seconds), each on its own
    time axis, median and p95 marked."""
    panel_w, panel_h, pad = 360, 220, 48
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    total_w = pad + len(series) * (panel_w + pad)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{panel_h + 2 * pad}"'
        f' font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="{pad}" y="20" font-size="14">{escape(title)}</text>',
    ]
    for i, (name, (xs, width)) in enumerate(series.items()):
        x0, y0 = pad + i * (panel_w + pad), pad
        colour = colours[i % len(colours)]
        out.append(f'<text x="{x0}" y="{y0 - 8}">{escape(name)}: {escape(summary(xs))}</text>')
        if not xs:
            continue
        lo = math.floor(min(xs) / width) * width
        hi = (math.floor(max(xs) / width) + 1) * width
        bins = max(1, round((hi - lo) / width))
        counts = [
            sum(1 for x in xs if lo + b * width <= x < lo + (b + 1) * width) for b in range(bins)
        ]
        peak = max(counts)
        bw = panel_w / bins

        def sx(t: float, x0: int = x0, lo: float = lo, hi: float = hi) -> float:
            return x0 + (t - lo) / (hi - lo) * panel_w

        out.append(
            f'<line x1="{x0}" y1="{y0 + panel_h}" x2="{x0 + panel_w}" y2="{y0 + panel_h}" '
            'stroke="black"/>'
        )
        for b, n in enumerate(counts):
            h = n / peak * (panel_h - 20)
            out.append(
                f'<rect x="{x0 + b * bw + 1:.1f}" y="{y0 + panel_h - h:.1f}" '
                f'width="{max(bw - 2, 1):.1f}" height="{h:.1f}" fill="{colour}"/>'
            )
            if n:
                out.append(
                    f'<text x="{x0 + (b + 0.5) * bw:.1f}" y="{y0 + panel_h - h - 3:.1f}" '
                    f'text-anchor="middle">{n}</text>'
                )
        step = math.ceil(bins / 8)  # ticks on bin edges, at most ~9 of them
        for k in range(0, bins + 1, step):
            t = lo + k * width
            out.append(
                f'<text x="{sx(t):.1f}" y="{y0 + panel_h + 14}" text-anchor="middle">{t:.0f}</text>'
            )
        out.append(
            f'<text x="{x0 + panel_w / 2}" y="{y0 + panel_h + 30}" text-anchor="middle">'
            "seconds from fault to first notification</text>"
        )
        for label, value, dash in (
            ("median", statistics.median(xs), "4,3"),
            ("p95", quantile(xs, 0.95), "1,3"),
        ):
            x = sx(value)
            out.append(
                f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + panel_h}" stroke="black" '
                f'stroke-dasharray="{dash}"/>'
            )
            out.append(f'<text x="{x + 3:.1f}" y="{y0 + 10}">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
