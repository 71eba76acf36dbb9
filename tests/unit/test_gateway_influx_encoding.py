"""Line protocol and InfluxQL quoting: exact timestamps, reversible tags, inert literals."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facility.core.types import Reading
from gateway.stores.influx import (
    decode_cursor,
    decode_tag,
    encode_cursor,
    encode_tag,
    from_ns,
    line_protocol,
    quote_ident,
    quote_string,
    to_ns,
)

TS = datetime(2026, 11, 20, 8, 0, 0, 999999, tzinfo=UTC)


def test_timestamps_are_exact_integer_nanoseconds_without_float_rounding() -> None:
    assert to_ns(TS) == 1795161600999999000
    assert from_ns(to_ns(TS)) == TS
    assert to_ns(datetime(1970, 1, 1, tzinfo=UTC)) == 0


def test_a_line_escapes_commas_spaces_and_equals_and_percent_encodes_newlines() -> None:
    reading = Reading("a, b=c\nd", "temperature", 21.5, "degC", TS)
    (line,) = line_protocol([reading], lambda d: {"asset": "AHU 1", "site": ""})
    assert line == (
        b"readings,asset=AHU\\ 1,device=a\\,\\ b\\=c%0Ad,metric=temperature,quality=good,"
        b"unit=degC value=21.5 1795161600999999000"
    )
    assert b"\n" not in line


@given(st.text(max_size=60))
def test_tag_encoding_round_trips_any_text(value: str) -> None:
    encoded = encode_tag(value)
    assert decode_tag(encoded) == value
    assert not set("\n\r\t\\") & set(encoded)


@given(st.text(max_size=60))
def test_a_quoted_string_is_one_inert_literal(value: str) -> None:
    literal = quote_string(value)
    assert literal.startswith("'") and literal.endswith("'")
    inner = literal[1:-1]
    # every quote inside is escaped, so the literal cannot end early
    assert re.search(r"(?<!\\)(?:\\\\)*'", inner) is None
    assert "\n" not in literal


def test_identifiers_escape_double_quotes() -> None:
    assert quote_ident('x" OR 1=1 --') == '"x\\" OR 1=1 --"'


def test_cursors_round_trip_and_foreign_ones_are_refused() -> None:
    assert decode_cursor(encode_cursor(123, 4)) == (123, 4)
    for bad in ["", "%%%", "MS41OjI=", "aTE6LTI="]:
        with pytest.raises(ValueError, match="cursor"):
            decode_cursor(bad)
