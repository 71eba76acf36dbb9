"""Module boundaries: the layering of pyproject.toml's import-linter contract, and what it
cannot say: the kernel imports nothing of ours, nothing imports the composition root, no
domain reaches into another's routes, CLI or schemas, and no package has an import circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
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


#: The maintenance domains, lowest first (as the import-linter layers in pyproject.toml).
DOMAINS = (
    "shared",
    "people",
    "notifications",
    "sites",
    "assets",
    "suppliers",
    "work_orders",
    "inventory",
    "pm",
    "purchasing",
    "insights",
    "review",
)
#: The read side composes what the domains below it publish (the review embeds the KPI report,
#: an asset's figures embed its status history), so it may import their response schemas.
READ_SIDE = {"insights", "review"}


def _face(module: str) -> str | None:
    """``routes``, ``cli`` or ``schemas`` when ``module`` is a domain's outward face."""
    leaf = module.rsplit(".", 1)[-1]
    if leaf == "routes" or leaf.endswith("_routes"):
        return "routes"
    if leaf == "cli" or leaf.endswith("_cli"):
        return "cli"
    if leaf == "schemas":
        return "schemas"
    return None


def _domain(module: str) -> str | None:
    parts = module.split(".")
    return (
        parts[1] if len(parts) > 2 and parts[0] == "maintenance" and parts[1] in DOMAINS else None
    )


def test_no_domain_imports_another_domains_routes_cli_or_schemas() -> None:
    graph = grimp.build_graph("maintenance", exclude_type_checking_imports=True, cache_dir=None)
    offenders = []
    for importer in sorted(graph.modules):
        own = _domain(importer)
        if own is None:
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            other, face = _domain(imported), _face(imported)
            if other in (None, own, "shared") or face is None:
                continue
            if face == "schemas" and own in READ_SIDE:
                continue
            offenders.append(f"{importer} -> {imported}")
    assert offenders == []


@pytest.mark.parametrize("package", ["maintenance", "console"])
def test_no_import_circles_between_the_modules_of_a_package(package: str) -> None:
    graph = grimp.build_graph(
        package, "maintenance", exclude_type_checking_imports=True, cache_dir=None
    )
    circles = sorted(
        f"{a} <-> {b}"
        for a in graph.modules
        if a.startswith(package + ".")
        for b in graph.find_modules_directly_imported_by(a)
        if b.startswith(package + ".")
        and a != b
        and graph.chain_exists(importer=b, imported=a, as_packages=False)
        and a < b
    )
    assert circles == []


def test_every_domain_is_one_folder_with_its_models_and_services_inside() -> None:
    for domain in DOMAINS:
        folder = ROOT / "maintenance" / domain
        assert (folder / "__init__.py").is_file(), domain
    for name in ("models.py", "schemas.py", "services"):
        assert not (ROOT / "maintenance" / name).exists(), f"maintenance/{name} is back"
