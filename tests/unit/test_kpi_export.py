"""CSV cells: formulas are defused, everything else passes through unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintenance.shared.csv_cells import neutralise


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2", "'-2"),
        ("@cmd", "'@cmd"),
        ("\t=x", "'\t=x"),
        ("\r=x", "'\r=x"),
        ("plain text", "plain text"),
        ("", ""),
        (None, ""),
        (42, "42"),
        (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "2026-03-02T09:00:00+00:00"),
    ],
)
def test_a_cell_that_a_spreadsheet_would_run_is_prefixed_with_an_apostrophe(
    value: object, cell: str
) -> None:
    assert neutralise(value) == cell


@given(st.text())
def test_no_neutralised_text_cell_starts_with_a_formula_character(text: str) -> None:
    cell = neutralise(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell.removeprefix("'") == text or cell == text
