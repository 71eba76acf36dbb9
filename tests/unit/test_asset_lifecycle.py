"""The asset register's pure rules: status machine, tree checks, score formula, CSV parsing."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from maintenance.assets.lifecycle import (
    TRANSITIONS,
    InvalidAssetTransition,
    check_code,
    check_level,
    check_transition,
    find_cycle,
)
from maintenance.assets.models import AssetLevel, AssetStatus, Criticality
from maintenance.assets.register_csv import (
    COLUMNS,
    MAX_ROWS,
    TEXT_LIMITS,
    Existing,
    ImportError_,
    parse_csv,
    validate_rows,
)
from maintenance.insights.asset_figures import (
    AGE_CAP,
    CRITICALITY_WEIGHT,
    FAILURE_CAP,
    WEIGHTS,
    ScoreWeights,
    replacement_score,
)
from maintenance.shared.csv_cells import neutralise

S = AssetStatus


# -- status machine -------------------------------------------------------------------------------
def test_every_status_has_a_row_in_the_transition_table() -> None:
    assert set(TRANSITIONS) == set(AssetStatus)


def test_decommissioned_is_terminal_and_reachable_from_every_other_status() -> None:
    assert TRANSITIONS[S.DECOMMISSIONED] == frozenset()
    for status in AssetStatus:
        if status is not S.DECOMMISSIONED:
            assert S.DECOMMISSIONED in TRANSITIONS[status]


def test_no_status_moves_to_itself_or_back_to_planned() -> None:
    for status, targets in TRANSITIONS.items():
        assert status not in targets
        assert S.PLANNED not in targets


@pytest.mark.parametrize(
    ("current", "requested"),
    [(c, r) for c in AssetStatus for r in AssetStatus],
)
def test_check_transition_follows_the_table(current: AssetStatus, requested: AssetStatus) -> None:
    if requested in TRANSITIONS[current]:
        check_transition("AHU-1", current, requested)
    else:
        with pytest.raises(InvalidAssetTransition) as caught:
            check_transition("AHU-1", current, requested)
        assert caught.value.allowed == sorted(s.value for s in TRANSITIONS[current])
        assert repr(requested.value) in str(caught.value)


def test_a_planned_asset_cannot_go_under_repair_before_it_is_in_service() -> None:
    with pytest.raises(InvalidAssetTransition, match="allowed: decommissioned, in_service"):
        check_transition("P-1", S.PLANNED, S.UNDER_REPAIR)


# -- tree -----------------------------------------------------------------------------------------
def test_a_child_may_sit_at_its_parents_level_or_deeper_but_never_above() -> None:
    levels = list(AssetLevel)  # building, floor, zone, equipment: outermost first
    for i, parent in enumerate(levels):
        for j, child in enumerate(levels):
            problem = check_level(parent, child)
            assert (problem is None) == (j >= i), (parent, child)


def test_find_cycle_returns_the_loop_and_none_for_a_tree() -> None:
    parents: dict[str, str | None] = {"a": "b", "b": "c", "c": "a", "d": "a", "e": None}
    assert find_cycle(parents, "a") == ["a", "b", "c", "a"]
    assert find_cycle(parents, "d") == ["a", "b", "c", "a"]
    assert find_cycle(parents, "e") is None
    assert find_cycle({"x": "x"}, "x") == ["x", "x"]
    assert find_cycle({"x": "unknown-root"}, "x") is None


@pytest.mark.parametrize(
    "code", ["", "a/b", "../etc", "a b", "-lead", "x" * 201, "é\x00", "tree", "Export.csv"]
)
def test_unusable_codes_are_refused_with_a_reason(code: str) -> None:
    assert check_code(code)


@pytest.mark.parametrize("code", ["AHU-1", "b1.f2:z3", "Kälte_1", "x" * 200])
def test_plain_codes_are_accepted(code: str) -> None:
    assert check_code(code) is None


# -- replacement score ----------------------------------------------------------------------------
def test_the_score_is_the_documented_weighted_sum() -> None:
    life, ratio, failures = 1.2, 0.4, 3
    score, parts = replacement_score(
        life_used_ratio=life, repair_ratio=ratio, failures_12m=failures, criticality=Criticality.B
    )
    expected = 100 * (
        WEIGHTS.age * (life / AGE_CAP)
        + WEIGHTS.repair * ratio
        + WEIGHTS.failures * (failures / FAILURE_CAP)
        + WEIGHTS.criticality * CRITICALITY_WEIGHT[Criticality.B]
    )
    assert score == pytest.approx(expected, abs=0.01)
    assert parts == {
        "age": pytest.approx(life / AGE_CAP, abs=1e-4),
        "repair": pytest.approx(ratio),
        "failures": pytest.approx(failures / FAILURE_CAP),
        "criticality": 0.5,
    }


def test_components_are_capped_so_the_score_stays_within_0_and_100() -> None:
    top, _ = replacement_score(
        life_used_ratio=9.0, repair_ratio=7.0, failures_12m=99, criticality=Criticality.A
    )
    bottom, _ = replacement_score(
        life_used_ratio=None, repair_ratio=None, failures_12m=0, criticality=Criticality.C
    )
    assert (top, bottom) == (100.0, 0.0)


def test_the_score_grows_with_each_component() -> None:
    def score(life: float = 0.5, ratio: float = 0.2, failures: int = 1) -> float:
        return replacement_score(
            life_used_ratio=life,
            repair_ratio=ratio,
            failures_12m=failures,
            criticality=Criticality.C,
        )[0]

    low = score()
    assert score(life=0.9) > low
    assert score(ratio=0.6) > low
    assert score(failures=4) > low


def test_weights_that_do_not_sum_to_one_are_refused() -> None:
    with pytest.raises(ValueError, match="sum to 1"):
        ScoreWeights(age=0.5, repair=0.5, failures=0.5, criticality=0.0)


# -- CSV parsing ----------------------------------------------------------------------------------
def _csv(*rows: list[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def _where(errors: list[ImportError_]) -> set[tuple[int, str]]:
    return {(e.line, e.column) for e in errors}


def test_a_clean_file_parses_into_typed_values() -> None:
    data = _csv(
        ["code", "name", "installed_on", "purchase_cost", "expected_life_years", "criticality"],
        ["AHU-1", "Air handler", "2015-06-01", "12500.50", "20", "a"],
    )
    rows, columns, errors = parse_csv(data)
    assert errors == []
    assert columns[:2] == ["code", "name"]
    assert rows[0].line == 2
    assert rows[0].values["installed_on"] == date(2015, 6, 1)
    assert rows[0].values["purchase_cost"] == Decimal("12500.50")
    assert rows[0].values["expected_life_years"] == 20.0
    assert rows[0].values["criticality"] is Criticality.A


def test_a_bom_and_crlf_line_ends_are_accepted() -> None:
    data = b"\xef\xbb\xbfcode,name\r\nAHU-1,Air handler\r\n"
    rows, _, errors = parse_csv(data)
    assert errors == [] and rows[0].code == "AHU-1"


def test_every_wrongly_typed_cell_is_reported_with_line_and_column() -> None:
    data = _csv(
        ["code", "name", "installed_on", "purchase_cost", "expected_life_years", "level", "status"],
        ["A-1", "ok", "2015-13-01", "12,50", "-3", "basement", "broken"],
        ["A-2", "", "yesterday", "NaN", "inf", "zone", "planned"],
        ["A-3", "ok", "2020-01-01", "1.005", "0", "floor", "in_service"],
    )
    _, _, errors = parse_csv(data)
    assert _where(errors) == {
        (2, "installed_on"),
        (2, "purchase_cost"),
        (2, "expected_life_years"),
        (2, "level"),
        (2, "status"),
        (3, "name"),
        (3, "installed_on"),
        (3, "purchase_cost"),
        (3, "expected_life_years"),
        (4, "purchase_cost"),
        (4, "expected_life_years"),
    }
    assert all(e.reason for e in errors)


def test_a_quoted_cell_spanning_lines_is_refused_and_later_lines_keep_their_numbers() -> None:
    data = b'code,name\nA-1,"two\nlines"\nA-2,\n'
    _, _, errors = parse_csv(data)
    assert _where(errors) == {(2, "name"), (4, "name")}


def test_cells_over_the_column_size_are_refused() -> None:
    for column, limit in TEXT_LIMITS.items():
        value = "x" * (limit + 1)
        header = ["code", "name"] if column in ("code", "name") else ["code", "name", column]
        row = {"code": "A-1", "name": "n", column: value}
        _, _, errors = parse_csv(_csv(header, [row[h] for h in header]))
        assert (2, column) in _where(errors), column


def test_a_huge_field_beyond_the_csv_limit_is_one_error_not_a_crash() -> None:
    data = b"code,name\nA-1," + b"x" * 200_000 + b"\n"
    _, _, errors = parse_csv(data)
    assert errors and errors[0].line == 2


def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    _, _, errors = parse_csv(b"code,name\n" + b"A,b\n" * 100, max_bytes=100)
    assert len(errors) == 1 and "at most 100" in errors[0].reason


def test_nul_bytes_and_non_utf8_are_refused_with_their_line() -> None:
    assert parse_csv(b"code,name\nA,b\nC,\x00d\n")[2][0].line == 3
    assert parse_csv(b"code,name\nA,b\xff\n")[2][0].line == 2


def test_control_characters_in_cells_are_refused() -> None:
    _, _, errors = parse_csv(_csv(["code", "name"], ["A-1", "bell\x07"], ["A-2", "tab\tname"]))
    assert _where(errors) == {(2, "name"), (3, "name")}


def test_unknown_duplicate_and_missing_header_columns_are_reported_on_line_1() -> None:
    _, _, errors = parse_csv(_csv(["code", "code", "colour"], ["A", "A", "red"]))
    assert _where(errors) == {(1, "code"), (1, "colour"), (1, "name")}


def test_rows_with_the_wrong_number_of_cells_are_reported() -> None:
    _, _, errors = parse_csv(b"code,name\nA,b,c\nD\n")
    assert [e.line for e in errors] == [2, 3]


def test_too_many_rows_are_refused() -> None:
    data = b"code,name\n" + b"".join(b"A%d,n\n" % i for i in range(MAX_ROWS + 1))
    _, _, errors = parse_csv(data, max_bytes=10 * 1024 * 1024)
    assert any(f"more than {MAX_ROWS}" in e.reason for e in errors)


def test_formula_cells_are_kept_as_text_and_an_exports_apostrophe_is_undone() -> None:
    formula = "=cmd|' /C calc'!A0"
    data = _csv(["code", "name", "manufacturer"], ["A-1", formula, neutralise(formula)])
    rows, _, errors = parse_csv(data)
    assert errors == []
    assert rows[0].values["name"] == formula
    assert rows[0].values["manufacturer"] == formula


def test_export_columns_are_import_columns() -> None:
    rows, columns, errors = parse_csv(_csv(list(COLUMNS), ["A-1", "n", *[""] * (len(COLUMNS) - 2)]))
    assert errors == [] and tuple(columns) == COLUMNS and rows[0].values["level"] is None


# -- validation against the register --------------------------------------------------------------
def _rows(*lines: list[str]) -> list:  # type: ignore[type-arg]
    rows, _, errors = parse_csv(_csv(["code", "name", "level", "parent", "status"], *lines))
    assert errors == []
    return rows


def test_parents_may_come_later_in_the_file() -> None:
    rows = _rows(["Z-1", "zone", "zone", "F-1", ""], ["F-1", "floor", "floor", "", ""])
    assert validate_rows(rows, {}) == []


def test_unknown_parents_cycles_and_duplicates_are_all_reported() -> None:
    rows = _rows(
        ["A", "a", "", "B", ""],
        ["B", "b", "", "A", ""],
        ["C", "c", "", "NOPE", ""],
        ["D", "d", "", "D", ""],
        ["A", "again", "", "", ""],
    )
    errors = validate_rows(rows, {})
    assert _where(errors) == {(2, "parent"), (4, "parent"), (5, "parent"), (6, "code")}
    assert "cycle" in errors[0].reason


def test_a_cycle_closed_through_the_database_is_found() -> None:
    existing = {
        "B-1": Existing("B-1", None, AssetLevel.BUILDING, S.IN_SERVICE),
        "F-1": Existing("F-1", "B-1", AssetLevel.FLOOR, S.IN_SERVICE),
    }
    errors = validate_rows(_rows(["B-1", "b", "building", "F-1", ""]), existing)
    assert _where(errors) == {(2, "parent")}


def test_a_building_under_a_zone_is_a_level_error() -> None:
    errors = validate_rows(_rows(["Z", "z", "zone", "", ""], ["B", "b", "building", "Z", ""]), {})
    assert _where(errors) == {(3, "level")}


def test_a_status_move_the_machine_forbids_is_a_row_error() -> None:
    existing = {"A": Existing("A", None, AssetLevel.EQUIPMENT, S.DECOMMISSIONED)}
    errors = validate_rows(_rows(["A", "a", "", "", "in_service"]), existing)
    assert _where(errors) == {(2, "status")}
    assert "none" in errors[0].reason
