"""The fast YAML reader (libyaml events) against ruamel.yaml's round-trip parser as reference:
the same values, types and lines for every key, value and item, and errors at the same lines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.comments import TaggedScalar

from netwatch.config import nodes, reader
from netwatch.config.errors import ConfigError
from netwatch.config.nodes import item_line, key_line, node_line, value_line

REPO = Path(__file__).resolve().parents[2]


def _family(v: Any) -> str:
    for t in (bool, int, float, str, bytes):
        if isinstance(v, t):
            return t.__name__
    return type(v).__name__


def _same(a: Any, b: Any, path: str = "", aliases: frozenset[str] = frozenset()) -> None:
    """a (ruamel) and b (reader) hold the same values, types and lines.

    Two lines differ on purpose, both toward where the reader looks: an empty value sits on
    its key's line (ruamel: the line of the next token), and a value given by an alias (paths
    in `aliases`) on the alias's line (ruamel: the anchor's)."""
    assert isinstance(a, Mapping) == isinstance(b, Mapping), path
    assert isinstance(a, list) == isinstance(b, list), path
    if isinstance(a, Mapping):
        assert node_line(a, -1) == node_line(b, -1), path
        assert list(a) == list(b), path
        for k in a:
            where = f"{path}.{k}"
            assert key_line(a, k, -1) == key_line(b, k, -1), where
            if where in aliases:
                assert value_line(b, k, -1) == key_line(b, k, -1), where  # `key: *alias`
            elif b[k] is None and value_line(a, k, -1) != value_line(b, k, -1):
                assert value_line(b, k, -1) == key_line(b, k, -1), where  # `key:` (empty)
            else:
                assert value_line(a, k, -1) == value_line(b, k, -1), where
            _same(a[k], b[k], where, aliases)
    elif isinstance(a, list):
        assert node_line(a, -1) == node_line(b, -1), path
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert item_line(a, i, -1) == item_line(b, i, -1), f"{path}[{i}]"
            _same(x, y, f"{path}[{i}]", aliases)
    elif isinstance(a, TaggedScalar):  # a tag ruamel keeps: the reader hands it to ruamel
        assert isinstance(b, TaggedScalar), path
        assert (a.tag, a.value) == (b.tag, b.value), path
    else:
        assert _family(a) == _family(b), (path, a, b)
        assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), (path, a, b)


def _both(text: str) -> tuple[Any, Any]:
    return nodes.parse(text, "f.yaml"), reader.parse(text, "f.yaml")


def _error_line(fn, text: str) -> tuple[int, str]:
    with pytest.raises(ConfigError) as info:
        fn(text, "f.yaml")
    issue = info.value.issues[0]
    return issue.line, issue.message


def test_libyaml_is_there() -> None:
    assert reader.FAST  # PyYAML's wheel bundles libyaml; without it every load is 10x slower


@pytest.mark.parametrize(
    "path",
    [
        *sorted((REPO / "configs").glob("*.yaml")),
        *sorted((REPO / "configs" / "profiles").glob("*.yaml")),
    ],
    ids=lambda p: p.name,
)
def test_shipped_files_read_the_same(path: Path) -> None:
    _same(*_both(path.read_text(encoding="utf-8")))


def test_the_test_configs_read_the_same() -> None:
    from tests.helpers.configs import BASE

    _same(*_both(BASE))


EDGE_CASES = {
    "scalars": (
        "a: 1\nb: -2.5\nc: 0o17\nd: 017\ne: 0x1F\nf: 1_000\ng: 1e3\nh: .inf\ni: -.Inf\n"
        "j: true\nk: False\nl: yes\nm: ~\nn:\no: null\np: 2026-12-01\nq: 22:00\n"
        "r: 2026-12-01 10:00:00\ns: '5'\nt: \"x\\ty\"\nu: 35.10\nv: +3\nw: .5\nx: 1.\n"
    ),
    "styles": (
        "a: |\n  line one\n  line two\nb: >\n  folded\n  text\nc: plain\n  continued\n"
        "d: [1, [2, 3], {e: 4}]\nf: {g: [h, i], j: {k: l}}\n"
    ),
    "block sequences": "- a\n- - b\n  - c\n-\n  k: v\n- {x: 1}\n-\n- ''\n",
    "anchors and merges": (
        "defaults: &d\n  role: ap\n  snmp: v2\nbase: &b {x: 1}\n"
        "one:\n  <<: *d\n  name: a\n  role: router\n"
        "two:\n  <<: [*b, *d]\n  name: b\n"
        "list: &l [1, 2]\nagain: *l\nscalar: &s text\nref: *s\n"
    ),
    "comments and blanks": "# top\n\na: 1 # one\n\n# between\nb:\n  # inside\n  - x\n\n  - y\n",
    "keys": "1: int key\n'1': str key\nfalse: bool key\nnull: null key\n3.5: float key\n",
    "unicode": 'nama: Desa Sukamaju ✓\nalamat: "Jl. Raya \\u00e9"\n',
    "empty": "",
    "just a scalar": "hello\n",
    "explicit tags": "a: !!str 12\nb: !!int '7'\nc: !!float 3\nd: !!binary aGVsbG8=\n",
    "yaml 1.1": "%YAML 1.1\n---\na: yes\nb: 017\n",
    "custom tags": "a: !secret x\nb: !!set {a, b}\n",
    "document markers": "---\na: 1\n...\n",
}


ALIASED = {"anchors and merges": frozenset({".again", ".ref"})}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_edge_cases_read_the_same(name: str) -> None:
    _same(*_both(EDGE_CASES[name]), aliases=ALIASED.get(name, frozenset()))


ERRORS = {
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "1 and true are one key": "1: a\ntrue: b\n",
    "unclosed flow": "a: [1, 2\nb: 3\n",
    "bad indentation": "a:\n  b: 1\n c: 2\n",
    "tab": "a:\n\tb: 1\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "undefined alias": "a: *nowhere\n",
    "colon in plain": "lat: -8.4: 9\n",
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_at_the_same_line(name: str) -> None:
    theirs = _error_line(nodes.parse, ERRORS[name])
    ours = _error_line(reader.parse, ERRORS[name])
    assert ours[0] == theirs[0], (ours, theirs)
    assert ours[1].split(":")[0] == theirs[1].split(":")[0]  # YAML syntax error / YAML error


def test_aliases_are_bounded_as_the_round_trip_parser_bounds_them() -> None:
    from tests.hardening.test_yaml_bomb import alias_bomb

    text = alias_bomb()
    theirs, ours = _error_line(nodes.parse, text), _error_line(reader.parse, text)
    assert ours == theirs and "aliases expand to more than" in ours[1]


def test_deep_nesting_is_refused_not_a_crash() -> None:
    text = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    line, message = _error_line(reader.parse, text)
    assert line == 1 and ("deeper than" in message or "nesting depth" in message)  # or libyaml's


# Random documents, dumped by ruamel in every style, read back by both.
_scalar = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, width=32),
    st.booleans(),
    st.none(),
)
_doc = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(alphabet="abcdefgh_-1", min_size=1, max_size=6), inner, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(doc=_doc, flow=st.sampled_from([None, True, False]))
@example(doc=":0", flow=True)  # `{root: :0}`: plain in YAML 1.2, a syntax error to libyaml (1.1)
@example(doc="?0", flow=True)  # `{root: ?0}`: ruamel dumps it unquoted and cannot read it back
def test_random_documents_read_the_same(doc: Any, flow: bool | None) -> None:
    import io

    yaml = YAML()
    yaml.default_flow_style = flow
    out = io.StringIO()
    yaml.dump({"root": doc}, out)
    text = out.getvalue()
    try:
        theirs = nodes.parse(text, "f.yaml")
    except ConfigError as exc:  # a document the reference refuses: the reader refuses it too
        with pytest.raises(ConfigError) as ours:
            reader.parse(text, "f.yaml")
        assert ours.value.issues[0].line == exc.issues[0].line, (text, ours.value, exc)
        return
    _same(theirs, reader.parse(text, "f.yaml"))
