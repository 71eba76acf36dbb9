"""``facility devices list|admit`` run as a facility engineer runs them, on a SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facility.core.settings import load_settings
from maintenance.assets.register import ensure_asset, link_device
from maintenance.shared.db import connect, upgrade
from tests.e2e.test_console_cli import SECRET, run


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Two quarantined devices, one on an asset, and a spare asset to admit to."""
    settings = load_settings(data_dir=tmp_path, secret_key=SECRET)
    engine, sessions = connect(settings.effective_database_url())
    upgrade(engine)
    with sessions() as session:
        ahu = ensure_asset(session, code="AHU-1")
        ensure_asset(session, code="ROOM-101")
        link_device(session, device="ahu-1/supply", asset=ahu)
        link_device(session, device="zigbee2mqtt/kitchen", asset=None)
        link_device(session, device="flood-1", asset=None)
        session.commit()
    engine.dispose()
    return tmp_path


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line]


def test_list_unassigned_then_admit_moves_a_device_out_of_quarantine(data_dir: Path) -> None:
    listed = run(data_dir, "devices", "list", "--unassigned")
    assert listed.returncode == 0, listed.stderr
    assert [d["id"] for d in _lines(listed.stdout)] == ["flood-1", "zigbee2mqtt/kitchen"]
    assert "1-2 of 2" in listed.stderr
    admitted = run(data_dir, "devices", "admit", "zigbee2mqtt/kitchen", "--asset", "ROOM-101")
    assert admitted.returncode == 0, admitted.stderr
    assert _lines(admitted.stdout)[0]["asset"] == "ROOM-101"
    after = run(data_dir, "devices", "list", "--unassigned")
    assert [d["id"] for d in _lines(after.stdout)] == ["flood-1"]
    everything = run(data_dir, "devices", "list", "--limit", "2")
    assert [d["id"] for d in _lines(everything.stdout)] == ["ahu-1/supply", "flood-1"]
    assert "next page: --offset 2" in everything.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["admit", "nobody", "--asset", "ROOM-101"], "has not been heard or registered"),
        (["admit", "flood-1", "--asset", "NOPE"], "does not exist"),
        (["admit", "x" * 201, "--asset", "ROOM-101"], "1 to 200 characters"),
    ],
)
def test_admit_refuses_unknown_devices_and_assets_in_one_line(
    data_dir: Path, args: list[str], message: str
) -> None:
    result = run(data_dir, "devices", *args)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr


def test_every_devices_command_has_help(data_dir: Path) -> None:
    group = run(data_dir, "devices", "--help")
    assert group.returncode == 0 and "admit" in group.stdout and "list" in group.stdout
    for command in ("list", "admit"):
        shown = run(data_dir, "devices", command, "--help")
        assert shown.returncode == 0 and "Example" in shown.stdout, shown.stderr
    bad = run(data_dir, "devices", "list", "--limit", "0")
    assert bad.returncode == 2 and "limit" in bad.stderr
