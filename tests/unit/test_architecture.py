"""Module boundaries: gateway and rules never import maintenance; gateway never imports rules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "gateway": {"rules", "maintenance", "simulators", "dashboards"},
    "rules": {"maintenance", "gateway", "simulators", "dashboards"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_the_kernel_and_itself(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_kernel_imports_nothing_of_ours_but_itself() -> None:
    ours = {"gateway", "rules", "maintenance", "simulators", "dashboards", "console"}
    for path in (ROOT / "facility" / "core").rglob("*.py"):
        modules = imported_modules(path)
        assert not {m.split(".")[0] for m in modules} & ours, path
        assert not {m for m in modules if m.startswith("facility.app")}, path


def test_nothing_imports_the_composition_root() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("gateway", "rules", "maintenance", "console", "dashboards", "simulators")
        for path in (ROOT / package).rglob("*.py")
        if any(m.startswith("facility.app") for m in imported_modules(path))
    ]
    assert offenders == []


def test_a_gateway_worker_loads_neither_the_web_stack_nor_the_chart_library() -> None:
    """``Stack`` without the API is the scale-out gateway worker: its memory budget (200 MB
    with 100,000 devices, benchmarks/bench_memory.py) has no room for FastAPI and the
    console (~40 MB) or matplotlib with numpy (~35 MB), which the monthly report needs."""
    probe = (
        "import sys, facility.app.stack; "
        "print(','.join(m for m in ('fastapi', 'console', 'matplotlib', 'numpy') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()
    assert loaded == ""
