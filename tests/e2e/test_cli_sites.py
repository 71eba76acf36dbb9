"""``facility sites`` as an engineer scripts it: add, list, set, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e._cli import run_main
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
        (["sites", "add", "[/]x"], b"'[/]x'"),  # quoted as text, not read as rich markup
        (["sites", "add", "[bold]x"], b"'[bold]x'"),
        (["sites", "add", "x" * 500], b"site code"),
        (["sites", "add", "hq2", "--name", "bell\x07"], b"printable"),
        (["sites", "add", "hq"], b"exists already"),
        (["sites", "set", "nope", "--tz", "UTC"], b"does not exist"),
        (["sites", "set", "hq"], b"nothing to change"),
        (["sites", "set", "hq", "--tz", "Nowhere/City", "--name", "Renamed"], b"not an IANA"),
    ],
)
def test_bad_input_is_one_error_line_and_changes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    reason: bytes,
) -> None:
    """In-process (``facility.app.cli.main``); the happy path above runs the installed command."""
    env = {"FACILITY_DATA_DIR": str(tmp_path)}
    assert run_main(monkeypatch, capsys, env, "sites", "add", "hq", "--name", "HQ").code == 0
    result = run_main(monkeypatch, capsys, env, *args)
    assert result.code == 1, result.stderr
    assert result.stderr.startswith("error: ") and reason.decode() in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == b""
    listed = lines(run_main(monkeypatch, capsys, env, "sites", "list").stdout)
    assert listed == [{"code": "hq", "name": "HQ", "timezone": "UTC", "assets": 0}]


def test_a_refusal_from_the_installed_command_is_one_line(tmp_path: Path) -> None:
    result = run("sites", "add", "h q", env={"FACILITY_DATA_DIR": str(tmp_path)})
    assert result.returncode == 1 and result.stderr.startswith(b"error: site code")
    assert b"Traceback" not in result.stderr
