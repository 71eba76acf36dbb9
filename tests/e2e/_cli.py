"""Run the ``facility`` console script's entry point in this process.

Starting the interpreter costs about two seconds of imports per command; long tables of bad
input call ``facility.app.cli.main`` here instead, with the environment and argv a subprocess would
get, and a sample of each table still runs the installed command as a subprocess.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import pytest


@dataclass
class Outcome:
    code: int
    stdout: bytes
    stderr: str


def run_main(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    *args: str,
) -> Outcome:
    """``facility ARGS`` in-process with only ``env``'s FACILITY_* settings; its exit code."""
    from facility.app.cli import main

    for key in [k for k in os.environ if k.startswith("FACILITY_")]:
        if key != "FACILITY_TEST_DATABASE_URL":
            monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith("FACILITY_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(sys, "argv", ["facility", *args])
    capsys.readouterr()
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Outcome(code, captured.out.encode(), captured.err)
