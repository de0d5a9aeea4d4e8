"""The lean formatter against influxdb-client's Point (oracle) and an independent parser."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from influxdb_client import Point

from netwatch.exporters.influxdb.lineproto import format_point, timestamp
from tests.helpers.lineproto import parse_line

# Printable text with every character line protocol treats specially.
TEXT = st.text(alphabet=st.sampled_from(list("abcXYZ019 ,=\"'\\._-/é")), min_size=1, max_size=12)
KEY = TEXT.filter(lambda s: not s.startswith("#"))
# influxdb-client does not escape backslashes (see test_backslashes_read_back_exactly).
NO_BACKSLASH = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 ,=\"'._-/é")), min_size=1, max_size=12
)
CLIENT_KEY = NO_BACKSLASH.filter(lambda s: not s.startswith("#"))
FIELD_VALUE = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    TEXT,
)


def oracle(measurement: str, tags: dict, fields: dict, ts: int) -> str:
    p = Point(measurement)
    for k, v in tags.items():
        p.tag(k, v)
    for k, v in fields.items():
        p.field(k, v)
    return p.time(ts).to_line_protocol()


@settings(max_examples=200, deadline=None)
@given(
    measurement=CLIENT_KEY,
    tags=st.dictionaries(CLIENT_KEY, NO_BACKSLASH, max_size=4),
    fields=st.dictionaries(CLIENT_KEY, FIELD_VALUE, min_size=1, max_size=4),
    ts=st.integers(0, 2**62),
)
def test_same_bytes_as_influxdb_client(measurement, tags, fields, ts) -> None:
    assert format_point(measurement, tags, fields, ts) == oracle(measurement, tags, fields, ts)


@settings(max_examples=200, deadline=None)
@given(
    measurement=KEY,
    tags=st.dictionaries(KEY, TEXT, max_size=4),
    fields=st.dictionaries(KEY, FIELD_VALUE, min_size=1, max_size=4),
    ts=st.integers(0, 2**62),
)
def test_independent_parser_reads_back_what_was_written(measurement, tags, fields, ts) -> None:
    line = parse_line(format_point(measurement, tags, fields, ts))
    assert line.measurement == measurement
    assert line.tags == tags
    assert line.timestamp == ts
    assert set(line.fields) == set(fields)
    for key, value in fields.items():
        got = line.fields[key]
        if isinstance(value, bool):
            assert got is value
        elif isinstance(value, int):
            assert type(got) is int and got == value
        elif isinstance(value, float):
            assert type(got) is float and (got == value or math.isclose(got, value))
        else:
            assert got == value


def test_escaping_by_hand() -> None:
    # Expected text written from the line-protocol spec, not produced by the code.
    line = format_point(
        "net watch,x",
        {"village_name": 'Kampung "Baru", Timur=1', "device": "ap 1"},
        {"loss ratio": 0.25, "sent": 5, "up": True, "note": 'say "hi" \\o/'},
        1_700_000_000_000,
    )
    assert line == (
        r"net\ watch\,x,device=ap\ 1,village_name=Kampung\ "
        + '"Baru"'
        + r"\,\ Timur\=1 loss\ ratio=0.25,note="
        + '"say \\"hi\\" \\\\o/"'
        + ",sent=5i,up=true 1700000000000"
    )


def test_integer_and_float_fields_keep_their_type() -> None:
    line = parse_line(format_point("m", {}, {"a": 3, "b": 3.0, "c": 1e20, "d": -0.5}, 1))
    assert line.fields == {"a": 3, "b": 3.0, "c": 1e20, "d": -0.5}
    assert [type(line.fields[k]) for k in "abcd"] == [int, float, float, float]


def test_non_finite_floats_and_empty_points_are_skipped() -> None:
    assert format_point("m", {}, {"a": math.nan, "b": 1}, 1) == "m b=1i 1"
    assert format_point("m", {"t": "x"}, {"a": math.inf}, 1) == ""
    assert format_point("m", {"t": "", "u": None}, {"a": 1}, 2) == "m a=1i 2"


def test_timestamp_precisions() -> None:
    t = 1_700_000_000.123456
    assert timestamp(t, "s") == 1_700_000_000
    assert timestamp(t, "ms") == 1_700_000_000_123
    assert timestamp(t, "us") == 1_700_000_000_123_456


def test_backslashes_read_back_exactly() -> None:
    # Per the spec, two backslashes are one: the client's 'a\\ b' would split at the space.
    assert format_point("m", {"v": "a\\ b"}, {"x": 1}, 1) == "m,v=a\\\\\\ b x=1i 1"
    assert Point("m").tag("v", "a\\ b").field("x", 1).time(1).to_line_protocol() == (
        "m,v=a\\\\ b x=1i 1"
    )
    assert parse_line(format_point("m", {"v": "x\\"}, {"y\\": 1}, 1)).tags == {"v": "x\\"}
