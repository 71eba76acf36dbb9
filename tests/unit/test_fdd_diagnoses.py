"""The diagnosis catalogue (rules/diagnoses/) and the pure pieces of diagnosed FDD orders."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from facility.core.errors import ConfigError
from facility.core.types import Alert, AlertState, Severity
from maintenance.work_orders import fdd
from maintenance.work_orders.service import AlertPolicy
from rules.diagnoses import DEFAULT_DIAGNOSES, default_catalogue, load_diagnoses, parse_diagnoses
from rules.loader import load_rules
from rules.points import AHU_POINTS

LIBRARY = Path(__file__).resolve().parents[2] / "rules" / "library" / "ahu-g36.yaml"
#: Points of the canonical set (issue 14) the simulator does not report yet (FC6, FC14, FC15).
OPTIONAL_POINTS = {
    "supply_airflow",
    "cooling_coil_leaving_air_temperature",
    "heating_coil_leaving_air_temperature",
}
CJK = re.compile(r"[\u3400-\u9fff]")


def _document() -> dict[str, Any]:
    loaded = yaml.safe_load(DEFAULT_DIAGNOSES.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _parse(document: dict[str, Any]) -> None:
    parse_diagnoses(yaml.safe_dump(document, allow_unicode=True), source="test.yaml")


# -- the shipped catalogue ------------------------------------------------------------------------
def test_every_rule_of_the_g36_library_has_a_diagnosis_in_both_languages() -> None:
    catalogue = default_catalogue()
    rules = [rule.name for rule in load_rules(LIBRARY).rules]
    assert rules, "the library is empty"
    missing = [name for name in rules if catalogue.for_rule(name) is None]
    assert missing == [], f"add a diagnosis to {DEFAULT_DIAGNOSES} for: {missing}"
    for name in rules:
        entry = catalogue.for_rule(name)
        assert entry is not None
        texts = [entry.title, entry.diagnosis, *entry.causes]
        texts += [catalogue.checklist_items[key].label for key in entry.checklist]
        for text in texts:
            assert text.en.strip() and not CJK.search(text.en), (name, text.en)
            assert CJK.search(text.zh), (name, text.zh)


def test_the_catalogue_covers_fc1_to_fc15_and_simultaneous_heating_and_cooling() -> None:
    fcs = {entry.fc for entry in default_catalogue().diagnoses}
    assert fcs == {f"FC{n}" for n in range(1, 16)} | {"OS5"}


def test_diagnoses_name_only_canonical_points_and_every_point_has_a_name() -> None:
    catalogue = default_catalogue()
    for entry in catalogue.diagnoses:
        for point in entry.points:
            assert point in AHU_POINTS or point in OPTIONAL_POINTS, (entry.match, point)
            assert point in catalogue.point_names


def test_each_g36_rule_proves_its_fault_with_the_points_its_condition_reads() -> None:
    """The evidence table must show what the condition looked at, not some other sensor."""
    catalogue = default_catalogue()
    for rule in load_rules(LIBRARY).rules:
        entry = catalogue.for_rule(rule.name)
        assert entry is not None
        text = " ".join(str(v) for v in rule.model_dump(mode="json").values())
        used = {point for point in catalogue.point_names if re.search(rf"\b{point}\b", text)}
        assert used <= set(entry.points) | {"outdoor_air_damper", "supply_fan_status"}, (
            rule.name,
            used - set(entry.points),
        )


def test_a_rule_is_matched_by_its_fault_condition_prefix_not_by_a_longer_one() -> None:
    catalogue = default_catalogue()
    fc1 = catalogue.for_rule("ahu-g36-fc1-duct-static-low")
    fc10 = catalogue.for_rule("ahu-g36-fc10-mixed-outdoor-differ-full-economizer")
    assert fc1 is not None and fc1.fc == "FC1"
    assert fc10 is not None and fc10.fc == "FC10"
    assert catalogue.for_rule("ahu-g36-fc4-state-hunting") is not None
    assert catalogue.for_rule("ahu-g36-fc1") is not None
    assert catalogue.for_rule("ahu-g36-fc16-new") is None
    assert catalogue.for_rule("ahu-g36-fc1x") is None
    assert catalogue.for_rule("server-room-overtemp") is None


def test_checklist_steps_of_several_faults_are_deduplicated_in_first_seen_order() -> None:
    catalogue = default_catalogue()
    steps = [
        key for key, _ in catalogue.steps(["ahu-g36-fc2-a", "ahu-g36-fc3-b", "ahu-g36-fc10-c"])
    ]
    assert len(steps) == len(set(steps))
    assert steps[0] == "mixed-air-sensor"
    assert "outdoor-damper" in steps and steps.count("mixed-air-sensor") == 1
    assert catalogue.steps(["unknown-rule"]) == []


# -- validation errors name the file and the field ------------------------------------------------
def test_a_missing_translation_is_refused_naming_the_field() -> None:
    document = _document()
    del document["diagnoses"][0]["title"]["zh"]
    with pytest.raises(ConfigError, match=r"test\.yaml: field 'diagnoses\.0\.title\.zh'"):
        _parse(document)


def test_english_where_chinese_belongs_is_refused() -> None:
    document = _document()
    document["diagnoses"][1]["causes"][0]["zh"] = "sensor broken"
    with pytest.raises(ConfigError, match="'zh' holds no Chinese text"):
        _parse(document)


def test_an_unknown_checklist_key_is_refused_with_what_to_do() -> None:
    document = _document()
    document["diagnoses"][2]["checklist"].append("no-such-step")
    with pytest.raises(ConfigError, match="no-such-step; define them under checklist_items"):
        _parse(document)


def test_a_duplicate_match_an_unnamed_point_and_an_unknown_field_are_refused() -> None:
    document = _document()
    document["diagnoses"].append(dict(document["diagnoses"][0]))
    with pytest.raises(ConfigError, match="appears twice"):
        _parse(document)
    document = _document()
    document["diagnoses"][0]["points"].append("flux_capacitor")
    with pytest.raises(ConfigError, match="flux_capacitor have no name"):
        _parse(document)
    document = _document()
    document["diagnoses"][0]["severity"] = "major"
    with pytest.raises(ConfigError, match=r"diagnoses\.0\.severity"):
        _parse(document)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("", "expected a mapping"),
        ("version: 2\npoint_names: {}\nchecklist_items: {}\ndiagnoses: []\n", "version"),
    ],
)
def test_malformed_files_are_refused_with_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_diagnoses(text, source="bad.yaml")


def test_an_oversized_label_and_a_hostile_key_are_refused() -> None:
    document = _document()
    first = next(iter(document["checklist_items"]))
    document["checklist_items"][first]["label"]["en"] = "x" * 300
    with pytest.raises(ConfigError, match="at most 200"):
        _parse(document)
    document = _document()
    document["checklist_items"]["../../etc"] = document["checklist_items"][first]
    with pytest.raises(ConfigError, match="checklist_items"):
        _parse(document)


def test_an_unreadable_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read diagnosis catalogue"):
        load_diagnoses(tmp_path / "missing.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match=r"binary\.yaml"):
        load_diagnoses(binary)


# -- proof and titles -----------------------------------------------------------------------------
def _alert(rule: str = "ahu-g36-fc2-mixed-air-too-low") -> Alert:
    return Alert(
        rule=rule,
        device="ahu-1",
        asset="AHU-1",
        state=AlertState.FIRING,
        severity=Severity.MINOR,
        ts=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        value=8.5,
        message="mixed air reads 8.5 degC",
    )


def test_proof_takes_the_latest_reading_of_each_point_and_marks_missing_ones() -> None:
    entry = default_catalogue().for_rule(_alert().rule)
    assert entry is not None
    readings = [
        {"metric": "mixed_air_temperature", "value": 9.0, "unit": "degC", "ts": "t1"},
        {"metric": "mixed_air_temperature", "value": 8.5, "unit": "degC", "ts": "t2"},
        {"metric": "return_air_temperature", "value": 22.0, "unit": "degC", "ts": "t2"},
        {"metric": "cooling_valve", "value": 0.0, "unit": "%", "ts": "t2"},
    ]
    proof = fdd.proof(_alert(), entry, {"readings_before": readings})
    values = {p["point"]: p["value"] for p in proof["points"]}
    assert values == {
        "mixed_air_temperature": 8.5,
        "return_air_temperature": 22.0,
        "outdoor_air_temperature": None,
    }
    assert proof["fc"] == "FC2" and proof["value"] == 8.5


@pytest.mark.parametrize(
    "evidence",
    [
        None,
        {},
        {"readings_before": "not a list"},
        {"readings_before": [1, "x", None, {"no": "metric"}, {"metric": 5}]},
        {"readings_before": [{"metric": "mixed_air_temperature"}]},
    ],
)
def test_proof_survives_malformed_evidence(evidence: dict[str, Any] | None) -> None:
    entry = default_catalogue().for_rule(_alert().rule)
    assert entry is not None
    proof = fdd.proof(_alert(), entry, evidence)
    assert [p["point"] for p in proof["points"]] == entry.points


def test_the_title_says_what_is_wrong_in_plain_words_and_fits_the_column() -> None:
    catalogue = default_catalogue()
    title = fdd.title_for("AHU-1", ["ahu-g36-fc2-x", "ahu-g36-fc10-y"], catalogue)
    assert title == (
        "AHU-1: the mixed-air temperature reads too low (FC2);"
        " at 100 % outdoor air, mixed air is not outdoor air (FC10)"
    )
    many = [f"ahu-g36-fc{n}-x" for n in range(1, 16)]
    long_title = fdd.title_for("AHU-" + "9" * 60, many, catalogue)
    assert len(long_title) <= 200
    assert re.search(r"and \d+ more$", long_title)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fdd_window_s": 0},
        {"fdd_window_s": float("nan")},
        {"storm_threshold": -1},
        {"storm_window_s": float("inf")},
    ],
)
def test_an_impossible_policy_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        AlertPolicy(**kwargs)  # type: ignore[arg-type]
