"""Brick → register mapping, pure: classes, metrics, parents, references, parse errors."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from facility.core.errors import ConfigError
from gateway.connectors.config import parse_connectors
from maintenance.assets import brick
from maintenance.assets.brick_classes import SUPERCLASSES
from maintenance.assets.brick_export import brick_class
from maintenance.assets.brick_points import (
    COMPONENT_METRICS,
    METRIC_CLASSES,
    POINT_METRICS,
    ancestors,
    asset_type_of,
    level_of,
    metric_of,
)
from maintenance.assets.brick_report import connectors_draft, report_lines
from maintenance.assets.lifecycle import check_code
from maintenance.assets.models import AssetLevel
from rules.points import AHU_POINTS

PREFIXES = """\
@prefix brick: <https://brickschema.org/schema/Brick#> .
@prefix ref: <https://brickschema.org/schema/Brick/ref#> .
@prefix bacnet: <http://data.ashrae.org/bacnet/> .
@prefix ex: <urn:ex#> .
"""


def _plan(body: str, site: str | None = "s1") -> brick.BrickPlan:
    return brick.plan_brick(brick.read_model((PREFIXES + body).encode()), site=site)


# -- tables ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cls", "metric"),
    [
        ("Supply_Air_Temperature_Sensor", "supply_air_temperature"),
        ("Discharge_Air_Temperature_Sensor", "supply_air_temperature"),
        ("Mixed_Air_Temperature_Sensor", "mixed_air_temperature"),
        ("Outside_Air_Temperature_Sensor", "outdoor_air_temperature"),
        ("Outside_Air_Damper_Position_Command", "outdoor_air_damper"),
        ("Supply_Fan_Status", "supply_fan_status"),
        ("Static_Pressure_Setpoint", "duct_static_pressure_setpoint"),
        ("Supply_Air_Static_Pressure_Setpoint", "duct_static_pressure_setpoint"),
        ("Zone_Air_Temperature_Sensor", "temperature"),
        ("Electric_Power_Sensor", "power"),
        ("Active_Power_Sensor", "power"),  # a subclass: reached through the hierarchy
        ("Electric_Energy_Sensor", "energy"),  # likewise
        ("Return_Air_Temperature_Sensor", "return_air_temperature"),
        ("CO2_Sensor", "co2"),
    ],
)
def test_point_classes_map_to_canonical_metrics(cls: str, metric: str) -> None:
    assert metric_of([cls]) == metric


def test_a_more_specific_class_than_the_table_names_maps_through_its_superclasses() -> None:
    specific = "Average_Zone_Air_Temperature_Sensor"
    assert specific in SUPERCLASSES and specific not in POINT_METRICS
    assert "Zone_Air_Temperature_Sensor" in list(ancestors(specific))
    assert metric_of([specific]) == POINT_METRICS["Zone_Air_Temperature_Sensor"]


def test_a_component_names_its_generic_point() -> None:
    assert metric_of(["Fan_Status"], ["Supply_Fan"]) == "supply_fan_status"
    assert metric_of(["Fan_Status"], ["Return_Fan"]) == "return_fan_status"
    assert metric_of(["Damper_Position_Command"], ["Economizer_Damper"]) == "outdoor_air_damper"
    assert metric_of(["Valve_Command"], ["Cooling_Valve"]) == "cooling_valve"
    assert metric_of(["Fan_Status"], ["AHU"]) == "state"  # no component row: the generic one


def test_a_class_with_no_row_anywhere_has_no_metric() -> None:
    assert metric_of(["Start_Stop_Command"]) is None
    assert metric_of(["Not_A_Class"]) is None


def test_every_ahu_metric_the_table_gives_is_a_canonical_ahu_point() -> None:
    ahu_names = {m for m in [*POINT_METRICS.values(), *COMPONENT_METRICS.values()]}
    assert {"supply_air_temperature", "mixed_air_temperature", "outdoor_air_damper"} <= ahu_names
    stray = {m for m in ahu_names if m.startswith(("supply_", "return_", "mixed_", "outdoor_"))}
    assert stray - set(AHU_POINTS) <= {"supply_air_flow"}


def test_table_classes_are_brick_classes_unless_named_by_the_issue() -> None:
    extra = {c for c in POINT_METRICS if c not in SUPERCLASSES}
    assert extra <= {
        "Supply_Fan_Status",
        "Return_Fan_Status",
        "Outside_Air_Damper_Position_Command",
        "Return_Air_Damper_Position_Command",
        "Exhaust_Air_Damper_Position_Command",
        "Cooling_Valve_Command",
        "Heating_Valve_Command",
    }


@pytest.mark.parametrize(
    ("cls", "asset_type"),
    [
        ("AHU", "ahu"),
        ("RTU", "ahu"),
        ("VAV", "vav"),
        ("Air_Cooled_Chiller", "chiller"),
        ("Condensing_Natural_Gas_Boiler", "boiler"),
        ("Chilled_Water_Pump", "pump"),
        ("Supply_Fan", "fan"),
        ("Building_Electrical_Meter", "energy_meter"),
        ("Elevator", "elevator"),
    ],
)
def test_equipment_classes_map_to_asset_types(cls: str, asset_type: str) -> None:
    assert asset_type_of([cls]) == asset_type


@pytest.mark.parametrize(
    ("cls", "level"),
    [
        ("Building", AssetLevel.BUILDING),
        ("Floor", AssetLevel.FLOOR),
        ("Basement", AssetLevel.FLOOR),
        ("HVAC_Zone", AssetLevel.ZONE),
        ("Room", AssetLevel.ZONE),
        ("Office", AssetLevel.ZONE),
        ("AHU", AssetLevel.EQUIPMENT),
        ("Site", None),
        ("Supply_Air_Temperature_Sensor", None),
    ],
)
def test_locations_and_equipment_take_their_tree_level(cls: str, level: AssetLevel | None) -> None:
    assert level_of([cls]) is level


@pytest.mark.parametrize("metric", sorted(METRIC_CLASSES))
def test_every_exported_metric_class_maps_back_to_its_metric(metric: str) -> None:
    assert metric_of([METRIC_CLASSES[metric]]) == metric


@pytest.mark.parametrize(
    ("level", "asset_type"),
    [
        (AssetLevel.EQUIPMENT, "ahu"),
        (AssetLevel.EQUIPMENT, "fan"),
        (AssetLevel.EQUIPMENT, "elevator"),
        (AssetLevel.ZONE, "office"),
        (AssetLevel.ZONE, "hvac_zone"),
        (AssetLevel.FLOOR, "floor"),
        (AssetLevel.BUILDING, "building"),
    ],
)
def test_the_export_class_of_an_imported_asset_gives_back_its_type_and_level(
    level: AssetLevel, asset_type: str
) -> None:
    cls = brick_class(level, asset_type)
    assert level_of([cls]) is level
    found = asset_type_of([cls]) if level is AssetLevel.EQUIPMENT else cls.lower()
    assert found == asset_type


def test_an_asset_type_brick_does_not_know_exports_as_the_levels_class() -> None:
    assert brick_class(AssetLevel.EQUIPMENT, "unknown") == "Equipment"
    assert brick_class(AssetLevel.ZONE, "ahu") == "Space"  # AHU is no place


# -- codes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("iri", "code"),
    [
        ("urn:ex#AHU-1", "AHU-1"),
        ("http://example.org/building/floor_1", "floor_1"),
        ("urn:example/ts1", "ts1"),
        ("urn:ex#AHU 1/€", "AHU_1__"),
        ("urn:ex#.hidden", "hidden"),
    ],
)
def test_codes_come_from_the_iris_local_name(iri: str, code: str) -> None:
    from rdflib import URIRef

    assert brick.code_of(URIRef(iri)) == code


# -- parsing --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "words"),
    [
        # the parser stops where the missing "." shows: at the next statement
        ("ex:a a brick:AHU .\nex:b a brick:VAV\nex:c a brick:VAV .\n", "line 7: not valid Turtle"),
        ('ex:a a brick:AHU .\n\n\nex:b a "unterminated .\n', "line 8: not valid Turtle"),
        ("ex:a a brick:AHU .\nzz:b a brick:AHU .\n", 'line 6: not valid Turtle (Prefix "zz:"'),
    ],
)
def test_a_syntax_error_names_its_line(body: str, words: str) -> None:
    with pytest.raises(brick.BrickModelRejected) as caught:
        brick.read_model((PREFIXES + body).encode(), source="m.ttl")
    assert f"m.ttl {words}" in str(caught.value)
    assert "nothing changed" in str(caught.value)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "no triples"),
        (b"\xff\xfe\x00a", "NUL"),
        (b"@prefix ex: <urn:x#> .\nex:a ex:b \xe9 .", "line 2: not UTF-8"),
        (b"<not an iri a b c", "not valid Turtle"),
        (b"x" * 2000, "at most 1000"),
    ],
)
def test_hostile_or_broken_files_are_refused_with_a_reason(data: bytes, words: str) -> None:
    with pytest.raises(brick.BrickModelRejected) as caught:
        brick.read_model(data, max_bytes=1000)
    assert words in str(caught.value)


# -- planning -------------------------------------------------------------------------------------
def test_a_room_prefers_its_floor_to_its_hvac_zone_and_the_zone_follows_its_rooms() -> None:
    plan = _plan(
        """
        ex:b a brick:Building . ex:f a brick:Floor ; brick:isPartOf ex:b .
        ex:r1 a brick:Room ; brick:isPartOf ex:f .
        ex:z a brick:HVAC_Zone ; brick:hasPart ex:r1 .
        ex:vav a brick:VAV ; brick:feeds ex:z .
        ex:ahu a brick:AHU ; brick:feeds ex:vav .
        """
    )
    parents = {code: a.parent for code, a in plan.assets.items()}
    assert parents == {"b": None, "f": "b", "r1": "f", "z": "f", "vav": "z", "ahu": None}
    kinds = {(n.kind, n.subject) for n in plan.notes}
    assert {("inferred_location", "z"), ("inferred_location", "vav"), ("no_location", "ahu")} <= (
        kinds
    )
    assert plan.feeds == {("vav", "z"): "", ("ahu", "vav"): ""}


def test_inverse_relations_are_read_as_their_forward_ones() -> None:
    plan = _plan(
        """
        ex:b a brick:Building ; brick:isLocationOf ex:m .
        ex:m a brick:Electrical_Meter ; brick:isPointOf ex:nothing .
        ex:p a brick:Electric_Power_Sensor ; brick:isPointOf ex:m .
        ex:up a brick:Chiller . ex:m brick:isFedBy ex:up .
        """
    )
    assert plan.assets["m"].parent == "b"
    assert [(p.name, p.owner, p.metric) for p in plan.points] == [("p", "m", "power")]
    assert plan.feeds == {("up", "m"): ""}


def test_a_feeds_subproperty_gives_the_medium() -> None:
    plan = _plan(
        "ex:ch a brick:Chiller ; brick:feedsChilledWater ex:ahu ; brick:feeds ex:ahu .\n"
        "ex:ahu a brick:AHU ."
    )
    assert plan.feeds == {("ch", "ahu"): "chilled_water"}


def test_two_entities_with_one_local_name_are_refused() -> None:
    body = "ex:AHU-1 a brick:AHU .\n<urn:other#AHU-1> a brick:AHU .\n"
    with pytest.raises(brick.BrickModelRejected, match="would both be asset 'AHU-1'"):
        _plan(body)


def test_a_containment_cycle_is_refused() -> None:
    body = "ex:a a brick:Room ; brick:hasPart ex:b .\nex:b a brick:Room ; brick:hasPart ex:a .\n"
    with pytest.raises(brick.BrickModelRejected, match="cycle"):
        _plan(body)


def test_a_reserved_code_is_refused_naming_the_entity() -> None:
    with pytest.raises(brick.BrickModelRejected, match=r"urn:ex#tree.*reserved"):
        _plan("ex:tree a brick:AHU .")


def test_without_a_site_option_the_models_one_site_names_it() -> None:
    assert _plan("ex:hq a brick:Site . ex:b a brick:Building .", site=None).site == "hq"
    with pytest.raises(brick.BrickModelRejected, match="--site"):
        _plan("ex:b a brick:Building .", site=None)
    with pytest.raises(brick.BrickModelRejected, match="site code"):
        _plan("ex:b a brick:Building .", site="bad site")


def test_a_building_inside_a_floor_is_not_put_there() -> None:
    plan = _plan("ex:f a brick:Floor ; brick:hasPart ex:b .\nex:b a brick:Building .")
    assert plan.assets["b"].parent is None
    assert any(n.kind == "ignored_container" for n in plan.notes)


def test_references_link_time_series_and_bacnet_objects() -> None:
    plan = _plan(
        """
        ex:ahu a brick:AHU ; brick:hasPart ex:sf ;
            brick:hasPoint ex:sat, ex:mat, ex:bad, ex:hostile .
        ex:sf a brick:Supply_Fan ; brick:hasPoint ex:sfs .
        ex:sat a brick:Supply_Air_Temperature_Sensor ;
            ref:hasExternalReference [ ref:hasTimeseriesId "ahu-1" ] .
        ex:mat a brick:Mixed_Air_Temperature_Sensor ;
            ref:hasExternalReference [ ref:BACnetURI "bacnet://7/analog-input,2" ] .
        ex:sfs a brick:Fan_Status ; ref:hasExternalReference [
            a ref:BACnetReference ; bacnet:object-identifier "binary-input,3" ;
            bacnet:objectOf ex:dev ] .
        ex:dev bacnet:device-instance 7 .
        ex:bad a brick:CO2_Sensor ;
            ref:hasExternalReference [ ref:BACnetURI "http://nope" ] .
        ex:hostile a brick:CO2_Sensor ;
            ref:hasExternalReference [ ref:hasTimeseriesId "a/#/b" ] .
        """
    )
    points = {p.name: p for p in plan.points}
    assert points["sat"].device == "ahu-1" and points["sat"].bacnet is None
    mat = points["mat"].bacnet
    assert mat is not None and (mat.device_name, mat.object_type, mat.instance) == (
        "dev",
        "analog-input",
        2,
    )
    sfs = points["sfs"]
    assert (sfs.owner, sfs.asset, sfs.device, sfs.metric) == (
        "sf",
        "ahu",
        "ahu",
        "supply_fan_status",
    )
    assert points["bad"].bacnet is None and points["hostile"].device is None
    reasons = " ".join(n.detail for n in plan.notes if n.kind == "bad_reference")
    assert "bacnet://DEVICE" in reasons and "no # +" in reasons
    assert plan.devices() == {"ahu": "ahu", "ahu-1": "ahu"}

    text = connectors_draft(plan)
    draft = yaml.safe_load(text)
    assert draft["connectors"]["bacnet"]["devices"] == [
        {
            "name": "dev",
            "instance": 7,
            "points": [
                {
                    "metric": "mixed_air_temperature",
                    "device": "ahu",
                    "type": "analog-input",
                    "instance": 2,
                    "property": "present-value",
                },
                {
                    "metric": "supply_fan_status",
                    "device": "ahu",
                    "type": "binary-input",
                    "instance": 3,
                    "property": "present-value",
                },
            ],
        }
    ]
    draft["connectors"]["bacnet"]["bind"] = "10.0.4.9/24:47808"  # where to broadcast Who-Is
    config = parse_connectors(draft)  # the connector's own schema takes the rest as it is
    assert [p.object_id for p in config.bacnet.devices[0].points] == [
        "analog-input,2",
        "binary-input,3",
    ]


def test_the_draft_lists_the_points_the_connector_schema_would_refuse() -> None:
    plan = _plan(
        """
        ex:ahu a brick:AHU ; brick:hasPoint ex:a, ex:b, ex:c, ex:d .
        ex:dev bacnet:device-instance 9 .
        ex:a a brick:Supply_Air_Temperature_Sensor ; ref:hasExternalReference [
            bacnet:object-identifier "analog-input,1" ; bacnet:objectOf ex:dev ] .
        ex:b a brick:Discharge_Air_Temperature_Sensor ; ref:hasExternalReference [
            bacnet:object-identifier "analog-input,5" ; bacnet:objectOf ex:dev ] .
        ex:c a brick:Zone_Air_Temperature_Sensor ; ref:hasExternalReference [
            bacnet:object-identifier "device,999" ; bacnet:objectOf ex:dev ] .
        ex:d a brick:CO2_Sensor ; ref:hasExternalReference [
            bacnet:object-identifier "analog-input,3" ] .
        """
    )
    text = connectors_draft(plan)
    assert "# not drafted: b: ahu already has a point giving supply_air_temperature" in text
    assert "# not drafted: c: device is not a value object" in text
    assert "# not drafted: d: the reference names no device instance" in text
    assert "# no address in the model for dev" in text and "bind:" in text
    draft = yaml.safe_load(text)
    with pytest.raises(ConfigError, match="have no address"):
        parse_connectors(draft)  # it does not poll until the engineer says where to look
    draft["connectors"]["bacnet"]["bind"] = "10.0.4.9/24:47808"
    config = parse_connectors(draft)
    assert [p.object_id for p in config.bacnet.devices[0].points] == ["analog-input,1"]


def test_the_report_names_what_was_not_mapped() -> None:
    plan = _plan(
        "ex:ahu a brick:AHU ; brick:hasPoint ex:x, ex:y .\n"
        "ex:x a brick:Start_Stop_Command .\nex:y a brick:Flux_Capacitor .\n"
    )
    result = brick.BrickImportResult(1, 0, 0, 0, 0, 2, 0, 0, True, tuple(plan.notes))
    text = "\n".join(report_lines(result, plan))
    assert "1 equipment" in text
    assert "x (Start_Stop_Command)" in text and "y (Flux_Capacitor)" in text
    assert "classes not in Brick" in text and "maps to no metric" in text


_FRAGMENTS = st.sampled_from(
    [
        "ex:a a brick:AHU .",
        "ex:b a brick:Room ; brick:isPartOf ex:a .",
        "ex:a brick:hasPart ex:b .",
        "ex:c a brick:Supply_Air_Temperature_Sensor ; brick:isPointOf ex:a .",
        'ex:c ref:hasExternalReference [ ref:hasTimeseriesId "x\\u0000y" ] .',
        'ex:c ref:hasExternalReference [ ref:BACnetURI "bacnet://99999999/x,1" ] .',
        "ex:a brick:feeds ex:a .",
        "ex:d a brick:Floor ; brick:hasPart ex:d .",
        "ex:tree a brick:VAV .",
        "ex:a a brick:Building .",
        '"literal" a brick:AHU .',
        "[] a brick:AHU ; brick:hasPoint ex:c .",
        "ex:a ex:b",
        "@prefix",
        "<urn:x#a b> a brick:AHU .",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=8), st.binary(max_size=40))
def test_any_model_is_planned_or_refused_with_a_reason_never_anything_else(
    fragments: list[str], noise: bytes
) -> None:
    for data in ((PREFIXES + "\n".join(fragments)).encode(), noise):
        outcome = _plan_or_problems(data)
        if isinstance(outcome, list):
            assert outcome and all(isinstance(p, str) and p for p in outcome)
            continue
        assert all(check_code(code) is None for code in outcome.assets)
        assert all(up in outcome.assets and down in outcome.assets for up, down in outcome.feeds)
        connectors_draft(outcome)  # loads in the connector schema, or this raises


def _plan_or_problems(data: bytes) -> brick.BrickPlan | list[str]:
    try:
        return brick.plan_brick(brick.read_model(data), site="s1")
    except brick.BrickModelRejected as exc:
        return exc.problems
