"""Rule files: every error names the rule, the field and the line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from rules import check_rules, load_rules, parse_duration

EXAMPLES = Path(__file__).resolve().parents[2] / "rules" / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_rule_files_are_valid(path: Path) -> None:
    assert load_rules(path).rules


def test_errors_name_rule_field_and_line() -> None:
    text = """rules:
  - name: warm
    kind: threshold
    select: {metric: temperature}
    above: 25
    for: soon
  - name: quiet
    kind: offline
    after: 0s
"""
    _, errors = check_rules(text)
    found = {(e.rule, e.field, e.line) for e in errors}
    assert ("warm", "for", 6) in found
    assert ("quiet", "after", 9) in found


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("rules: [{name: a, kind: threshold, select: {metric: t}}]", "-"),
        ("rules: [{name: a, kind: threshold, above: 1}]", "-"),
        ("rules: [{name: a, kind: teleport}]", "-"),
        ("rules: [{name: a, kind: offline, colour: red}]", "colour"),
        ("rules: [{name: 'bad name!', kind: offline}]", "name"),
        ("rules: [{name: a, kind: offline}, {name: a, kind: offline}]", "-"),
        ("rules: [{name: a, kind: threshold, select: {metric: t}, above: 5, clear_below: 9}]", "-"),
    ],
)
def test_invalid_rules_are_reported_not_raised(text: str, field: str) -> None:
    parsed, errors = check_rules(text)
    assert parsed is None
    assert errors
    assert any(e.field == field or field == "-" for e in errors)


@pytest.mark.parametrize("text", ["{{{", "- [", "just a string", "rules: 5", "\x00"])
def test_malformed_yaml_gives_an_error_not_a_crash(text: str) -> None:
    parsed, errors = check_rules(text)
    assert parsed is None and errors


def test_huge_rule_file_is_refused() -> None:
    _, errors = check_rules("#" * (3 * 1024 * 1024))
    assert "larger than" in str(errors[0])


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1.5h", 5400), (45, 45), ("2d", 172800)]
)
def test_durations_read_as_people_write_them(text: object, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["soon", "-5s", True, "5 parsecs", None, "10y"])
def test_bad_durations_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_maintenance_window_errors_name_the_window_field_and_line() -> None:
    text = """rules: []
maintenance:
  - name: chiller-swap
    scope: {building: B2}
    start: 2026-03-01T08:00:00Z
    end: 2026-03-01T06:00:00Z
  - name: weekly
    timezone: Mars/Olympus
    weekly: [{days: [mon]}]
"""
    _, errors = check_rules(text)
    found = {(e.rule, e.field, e.line) for e in errors}
    assert ("maintenance window chiller-swap", "-", 3) in {
        (e.rule, "-", e.line) for e in errors if "after start" in str(e)
    }
    assert ("maintenance window weekly", "timezone", 8) in found


@pytest.mark.parametrize(
    "text",
    [
        "rules: " + "[" * 5000,
        "rules: " + "{a: " * 3000,
        "a: &a [*a, *a]",
        "rules: [{name: a, kind: threshold, select: {metric: t}, above: .nan}]",
        "rules: [{name: a, kind: threshold, select: {metric: t}, above: 1, for: 99999999d}]",
        "rules: [{name: a, kind: composite, conditions: "
        + "["
        + ", ".join(["{metric: t, above: 1}"] * 50)
        + "]}]",
        "rules: [{name: a, kind: offline, message: '" + "x" * 600 + "'}]",
    ],
    ids=["deep-list", "deep-map", "alias-loop", "nan", "huge-duration", "many-conditions", "long"],
)
def test_hostile_rule_files_are_refused_with_an_error_not_a_crash(text: str) -> None:
    parsed, errors = check_rules(text)
    assert parsed is None
    assert errors and all(str(e) for e in errors)
