"""``facility --help`` and ``facility gateway decode`` start at once: the heavy parts of the
tree (the API, the console, the ORM, plotting, units, store and field-bus clients) are imported
only by the commands that use them (facility/app/cli.py, "lazy sub-apps")."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = (
    "fastapi",
    "starlette",
    "sqlalchemy.orm",
    "console",
    "maintenance",
    "matplotlib",
    "pint",
    "uvicorn",
    "influxdb_client",
    "pymodbus",
)

_REPORT = "import sys; print('HEAVY:' + ' '.join(m for m in {heavy!r} if m in sys.modules))"


def _imported_after(code: str, stdin: str = "") -> list[str]:
    script = f"{code}\n{_REPORT.format(heavy=HEAVY)}"
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (report,) = [line for line in done.stdout.splitlines() if line.startswith("HEAVY:")]
    return report.removeprefix("HEAVY:").split()


def test_importing_the_cli_imports_none_of_the_heavy_modules() -> None:
    assert _imported_after("import facility.app.cli") == []


def test_the_root_help_imports_none_of_the_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from facility.app.cli import app\n"
        "try:\n"
        "    app(['--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    assert _imported_after(code) == []


def test_gateway_decode_imports_none_of_the_heavy_modules() -> None:
    code = (
        "import sys\n"
        "from facility.app.cli import app\n"
        "app(['gateway', 'decode'], standalone_mode=False)\n"
    )
    line = '{"topic":"facility/hq/t1/temperature","payload":"21.5"}\n'
    assert _imported_after(code, stdin=line) == []


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("pm", "forecast"),
        ("assets", "replacement"),
        ("suppliers", "scorecards"),
        ("dashboards", "build"),
    ],
)
def test_a_lazy_sub_app_is_built_with_all_its_commands_when_invoked(
    name: str, command: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "facility.app.cli", name, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Commands" in done.stdout and f" {command}" in done.stdout
