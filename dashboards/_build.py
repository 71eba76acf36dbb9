"""Turn the dashboard definitions into Grafana JSON, deterministically, and write it to disk.

Deterministic means: the same code, rules and version give byte-identical files, and changing
only the version changes only the ``version`` field. Panel ids are assigned here in layout
order (the SDK leaves them unset), so they are unique and stable across builds.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import dashboard as gd
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import _asset, _energy, _maintenance, _overview
from dashboards._panels import BuildOptions
from facility.core.errors import FacilityError

__all__ = [
    "DASHBOARDS",
    "build_dashboards",
    "dashboard_json",
    "iter_panels",
    "iter_targets",
    "write_dashboards",
]

#: uid → definition. The uid is the file name and Grafana's stable identity of the dashboard.
DASHBOARDS: dict[str, Callable[[BuildOptions], gd.Dashboard]] = {
    _overview.UID: _overview.build,
    _asset.UID: _asset.build,
    _energy.UID: _energy.build,
    _maintenance.UID: _maintenance.build,
}


def dashboard_json(builder: gd.Dashboard) -> dict[str, Any]:
    """The Grafana JSON model of one dashboard, with panel ids assigned in layout order."""
    model: dict[str, Any] = json.loads(JSONEncoder(sort_keys=True).encode(builder.build()))
    next_id = 1
    for panel in model.get("panels", []):
        panel["id"] = next_id
        next_id += 1
        for inner in panel.get("panels", []):
            inner["id"] = next_id
            next_id += 1
    if not model.get("annotations"):
        model["annotations"] = {"list": []}
    if not isinstance(model.get("templating"), dict):
        model["templating"] = {}
    model["templating"].setdefault("list", [])
    for panel in iter_panels(model):
        reduce = panel.get("options", {}).get("reduceOptions")
        if reduce is not None and not reduce.get("calcs") and not reduce.get("values"):
            reduce["calcs"] = ["lastNotNull"]
    return model


def iter_panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel of a dashboard model, rows and the panels inside collapsed rows included."""
    for panel in model.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def iter_targets(model: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """``(panel, target)`` for every query of a dashboard model."""
    for panel in iter_panels(model):
        for target in panel.get("targets", []):
            yield panel, target


def build_dashboards(options: BuildOptions | None = None) -> dict[str, dict[str, Any]]:
    """Every dashboard as Grafana JSON, keyed by uid."""
    options = options or BuildOptions()
    if options.version < 1:
        raise ValueError(f"dashboard version must be 1 or more, not {options.version}")
    return {uid: dashboard_json(define(options)) for uid, define in DASHBOARDS.items()}


def write_dashboards(out: Path, options: BuildOptions | None = None) -> list[Path]:
    """Write ``<uid>.json`` per dashboard into ``out`` (created if needed); atomically per file."""
    if out.exists() and not out.is_dir():
        raise FacilityError(f"--out {out} is not a directory; give a directory path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FacilityError(f"cannot create output directory {out}: {exc.strerror}") from exc
    written = []
    for uid, model in build_dashboards(options).items():
        path = out / f"{uid}.json"
        text = json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        try:
            fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{uid}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; Grafana runs as another user
            os.replace(tmp, path)
        except OSError as exc:
            raise FacilityError(f"cannot write {path}: {exc.strerror}") from exc
        written.append(path)
    return written
