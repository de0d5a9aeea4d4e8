"""Generated YAML (default inventory, CSV import) reads back as written, by an independent parse."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from netwatch.config.emit import flow, scalar

_safe = YAML(typ="safe", pure=True)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_string_round_trips(text):
    assert _safe.load(f"k: {scalar(text)}\n") == {"k": text}


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["name", "role", "address", "parent"]),
        st.text(min_size=1, max_size=20) | st.integers() | st.booleans(),
        min_size=1,
    ),
    st.lists(st.text(min_size=1, max_size=10), max_size=3),
)
def test_flow_mapping_round_trips(mapping, tags):
    written = {**mapping, "tags": tags}
    expected = {k: v for k, v in written.items() if v != []}
    assert _safe.load(f"- {flow(written)}\n") == [expected]
