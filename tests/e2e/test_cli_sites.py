"""``facility sites`` as an engineer scripts it: add, list, set, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_cli import lines, run


@pytest.mark.parametrize("command", [["sites", "list"], ["sites", "add"], ["sites", "set"]])
def test_sites_commands_have_help_with_an_example(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.returncode == 0 and b"Example" in result.stdout


def test_a_site_is_added_listed_and_given_its_time_zone(tmp_path: Path) -> None:
    env = {"FACILITY_DATA_DIR": str(tmp_path)}
    added = run("sites", "add", "hq", "--name", "Head office", env=env)
    assert added.returncode == 0, added.stderr
    assert lines(added.stdout) == [
        {"code": "hq", "name": "Head office", "timezone": "UTC", "assets": 0}
    ]
    changed = run("sites", "set", "hq", "--timezone", "Europe/Berlin", env=env)
    assert changed.returncode == 0, changed.stderr
    assert lines(changed.stdout)[0]["timezone"] == "Europe/Berlin"
    assert run("sites", "add", "annex", "--tz", "Asia/Shanghai", env=env).returncode == 0
    listed = run("sites", "list", env=env)
    assert [(s["code"], s["timezone"]) for s in lines(listed.stdout)] == [
        ("annex", "Asia/Shanghai"),
        ("hq", "Europe/Berlin"),
    ]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["sites", "add", "hq2", "--tz", "europe/berlin"], b"did you mean Europe/Berlin"),
        (["sites", "add", "hq2", "--tz", "../../etc/passwd"], b"not an IANA zone"),
        (["sites", "add", "h q"], b"site code"),
        (["sites", "add", "x" * 500], b"site code"),
        (["sites", "add", "hq2", "--name", "bell\x07"], b"printable"),
        (["sites", "add", "hq"], b"exists already"),
        (["sites", "set", "nope", "--tz", "UTC"], b"does not exist"),
        (["sites", "set", "hq"], b"nothing to change"),
        (["sites", "set", "hq", "--tz", "Nowhere/City", "--name", "Renamed"], b"not an IANA"),
    ],
)
def test_bad_input_is_one_error_line_and_changes_nothing(
    tmp_path: Path, args: list[str], reason: bytes
) -> None:
    env = {"FACILITY_DATA_DIR": str(tmp_path)}
    assert run("sites", "add", "hq", "--name", "HQ", env=env).returncode == 0
    result = run(*args, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith(b"error: ") and reason in result.stderr
    assert b"Traceback" not in result.stderr
    listed = lines(run("sites", "list", env=env).stdout)
    assert listed == [{"code": "hq", "name": "HQ", "timezone": "UTC", "assets": 0}]
