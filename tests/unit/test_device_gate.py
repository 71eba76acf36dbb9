"""The device gate (bounded new ids) and the registry's admission globs, as pure logic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from facility.core.errors import ConfigError, Invalid
from facility.core.settings import load_settings
from facility.core.types import Presence, Reading
from gateway.admission import NEW_DEVICE_RATE, UNASSIGNED_CAP, DeviceGate
from gateway.registry import DeviceRegistry, parse_registry
from maintenance.assets.register import ASSET_CODE_RE, device_asset_code, ensure_asset

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _reading(device: str) -> Reading:
    return Reading(device=device, metric="temperature", value=21.5, unit="degC", ts=NOW)


def test_new_ids_beyond_the_rate_are_refused_and_known_ones_always_pass() -> None:
    gate = DeviceGate(rate="3/hour", unassigned_cap=100)
    gate.load([("known-1", True), ("known-2", False)])
    outcomes = [gate.check(f"flood-{n}") for n in range(10)]
    assert outcomes[:3] == [None, None, None]
    assert {o[0] for o in outcomes[3:] if o is not None} == {NEW_DEVICE_RATE}
    assert sum(o is not None for o in outcomes) == 7
    assert "FACILITY_NEW_DEVICE_RATE" in str(outcomes[-1])
    for _ in range(50):  # a flood never costs a known device, nor one let in before it
        assert gate.check("known-1") is None
        assert gate.check("known-2") is None
        assert gate.check("flood-0") is None
    assert gate.unassigned == 1 + 3


def test_unassigned_ids_stop_at_the_cap_but_admitted_ones_do_not_count() -> None:
    gate = DeviceGate(
        rate="1000/hour", unassigned_cap=2, admitted=lambda d: d.startswith("zigbee2mqtt/")
    )
    assert gate.check("a") is None and gate.check("b") is None
    refused = gate.check("c")
    assert refused is not None and refused[0] == UNASSIGNED_CAP
    assert "FACILITY_UNASSIGNED_DEVICE_CAP=2" in refused[1]
    assert gate.check("zigbee2mqtt/kitchen") is None  # admitted by pattern: not capped
    gate.admit("a")  # a person admitted one: room for one more unassigned
    assert gate.unassigned == 1
    assert gate.check("c") is None
    assert gate.check("d") is not None


def test_a_cap_of_zero_takes_no_unknown_device_at_all() -> None:
    gate = DeviceGate(rate="1000/hour", unassigned_cap=0)
    refused = gate.check("anything")
    assert refused is not None and refused[0] == UNASSIGNED_CAP


def test_filter_keeps_the_items_of_passing_devices_and_reports_the_refusal() -> None:
    gate = DeviceGate(rate="1/hour", unassigned_cap=10)
    gate.load([("known", True)])
    items = [_reading("known"), _reading("new-1"), _reading("new-2"), Presence("new-2", False, NOW)]
    kept, refusal = gate.filter(items)
    assert [i.device for i in kept] == ["known", "new-1"]
    assert refusal is not None and refusal[0] == NEW_DEVICE_RATE
    kept, refusal = gate.filter([_reading("known"), _reading("new-1")])
    assert len(kept) == 2 and refusal is None


@pytest.mark.parametrize("rate", ["", "lots", "100/fortnight", "-1/minute"])
def test_a_bad_rate_is_a_config_error_naming_the_variable(rate: str) -> None:
    with pytest.raises(ConfigError, match="FACILITY_NEW_DEVICE_RATE"):
        DeviceGate(rate=rate)


def test_a_negative_cap_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="FACILITY_UNASSIGNED_DEVICE_CAP"):
        DeviceGate(unassigned_cap=-1)


def test_registry_admits_its_own_devices_and_admit_globs_only() -> None:
    registry = parse_registry(
        {
            "admit": ["zigbee2mqtt/*"],
            "assets": [{"code": "AHU-3", "devices": [{"match": "ahu-3/*"}]}],
        }
    )
    assert registry.admitted("ahu-3/supply")
    assert registry.admitted("zigbee2mqtt/kitchen")
    assert registry.resolve("zigbee2mqtt/kitchen").asset is None
    assert not registry.admitted("flood-123")
    more = registry.with_admit(["shelly-*", " ", ""])
    assert more.admitted("shelly-plug") and more.admitted("zigbee2mqtt/x")
    assert not registry.admitted("shelly-plug")  # the original is unchanged
    assert DeviceRegistry().with_admit([""]).admit_patterns == ()


@pytest.mark.parametrize(
    "spec",
    [
        {"admit": "zigbee2mqtt/*"},  # a string, not a list
        {"admit": [""]},
        {"admit": ["x" * 201]},
        {"admit": ["a"] * 1001},
        {"assets": [{"code": "has space"}]},
        {"assets": [{"code": "../etc"}]},
        {"assets": [{"code": "AHU\n1"}]},
    ],
)
def test_a_bad_admit_list_or_asset_code_is_refused_with_the_field(spec: object) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_registry(spec)
    assert "admit" in str(caught.value) or "code" in str(caught.value)


def test_env_admit_patterns_longer_than_200_are_refused() -> None:
    with pytest.raises(ConfigError, match="FACILITY_ADMIT_DEVICES"):
        DeviceRegistry().with_admit(["x" * 201])


@pytest.mark.parametrize(
    "device",
    [
        "zigbee2mqtt/kitchen",
        "plug-7/switch:1",
        "name with spaces",
        "évier",
        "../../etc",
        "-leading",
        "x" * 300,
        "<script>",
        "\u0000nul",
    ],
)
def test_a_device_admitted_by_pattern_gets_a_valid_and_distinct_asset_code(device: str) -> None:
    code = device_asset_code(device)
    assert ASSET_CODE_RE.match(code), code
    assert device_asset_code(device + " ") != code


def test_ensure_asset_refuses_a_code_that_bypasses_the_pattern() -> None:
    class NoSession:
        def scalar(self, _query: object) -> None:
            return None

    with pytest.raises(Invalid, match="not an asset code"):
        ensure_asset(NoSession(), code="flood <script>")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FACILITY_NEW_DEVICE_RATE", "lots"),
        ("FACILITY_UNASSIGNED_DEVICE_CAP", "-5"),
        ("FACILITY_UNASSIGNED_DEVICE_CAP", "many"),
    ],
)
def test_bad_quarantine_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings()


def test_quarantine_settings_have_sane_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("FACILITY_NEW_DEVICE_RATE", "FACILITY_UNASSIGNED_DEVICE_CAP"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("FACILITY_ADMIT_DEVICES", "zigbee2mqtt/*,shelly-*")
    settings = load_settings()
    assert (settings.new_device_rate, settings.unassigned_device_cap) == ("100/minute", 10_000)
    registry = DeviceRegistry().with_admit(settings.admit_devices.split(","))
    assert registry.admitted("shelly-1") and not registry.admitted("tasmota-1")
