"""Colours and shapes of the board: WCAG 2.x AA contrast for every text on a state colour and
every state colour against the page (non-text 3:1, with the markers' dark outline), and one
distinct shape per state, so colour is never the only sign.

The contrast formula is WCAG 2.1's definition (relative luminance, (L1 + 0.05) / (L2 + 0.05)).
"""

from __future__ import annotations

import re
from importlib import resources

from netwatch.public.html import SHAPES
from netwatch.public.printables import _BADGE
from netwatch.public.texts import STATES

CSS = resources.files("netwatch.public").joinpath("static/board.css").read_text(encoding="utf-8")


def _luminance(hex_colour: str) -> float:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _vars() -> dict[str, str]:
    return dict(re.findall(r"--([a-z]+):(#[0-9a-fA-F]{3,6})", CSS))


def test_the_formula_matches_wcag_reference_values() -> None:
    assert round(contrast("#000", "#fff"), 2) == 21.0
    assert round(contrast("#777777", "#ffffff"), 2) == 4.48  # the classic "just fails AA" grey


def test_text_on_state_colours_passes_aa() -> None:
    v = _vars()
    for state in STATES:
        m = re.search(r"\.s-" + state + r"\{background:var\(--(\w+)\);color:(#[0-9a-f]+)\}", CSS)
        assert m, state
        ratio = contrast(v[m.group(1)], m.group(2))
        assert ratio >= 4.5, (state, ratio)
        bg, fg = _BADGE[state]  # the badge uses the same pairs
        assert bg == v[m.group(1)] and contrast(bg, fg) >= 4.5


def test_page_text_and_links_pass_aa() -> None:
    v = _vars()
    for name in ("fg", "muted", "link"):
        for bg in ("bg", "panel"):
            assert contrast(v[name], v[bg]) >= 4.5, (name, bg)


def test_markers_stand_out_from_the_map_by_their_outline() -> None:
    # .mk has a black 1.2 px stroke: the outline carries the 3:1 non-text contrast even for
    # the light orange, against the white districts and the sea.
    assert re.search(r"\.mk\{stroke:#000;", CSS)
    for background in ("#ffffff", "#eef3f7"):
        assert contrast("#000000", background) >= 3.0


def test_one_distinct_shape_per_state() -> None:
    assert set(SHAPES) == set(STATES)
    assert len(set(SHAPES.values())) == len(STATES)
