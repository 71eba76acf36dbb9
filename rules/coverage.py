"""Which rules an asset can run, given the points it has (``facility rules check --points``).

An expression rule whose points an asset lacks never fires there (its condition stays unknown),
so a library like ``ahu-g36.yaml`` silently does less on a unit without, say, coil leaving-air
sensors. Before commissioning, an engineer wants that said: this module compares each rule's
metrics (:meth:`rules.model.RuleBase.metrics`) with an asset's point list and reports, per
asset, the rules that run and, for the rest, the points they miss.

The points file is either plain text, one metric per line (one asset, called ``-``; ``#``
starts a comment), or YAML mapping each asset to its list of metrics::

    AHU-1: [supply_air_temperature, mixed_air_temperature, ...]
    AHU-2:
      - supply_air_temperature
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from facility.core.errors import Invalid
from rules.model import RuleFile

__all__ = ["Coverage", "PointsFileError", "coverage", "parse_points"]

MAX_POINTS_BYTES = 1_000_000
MAX_POINTS_PER_ASSET = 10_000
_METRIC = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


class PointsFileError(Invalid):
    """The points file cannot be read as a point list or an asset -> points mapping."""


@dataclass(frozen=True, slots=True)
class Coverage:
    """One asset's verdict: the rules that can run and, per skipped rule, the missing points."""

    asset: str
    runs: list[str]
    skips: dict[str, list[str]]


def _metric(value: object, where: str) -> str:
    text = str(value).strip() if isinstance(value, str | int | float) else ""
    if not _METRIC.match(text):
        raise PointsFileError(
            f"{where}: {str(value)[:60]!r} is not a metric name; use snake_case canonical names "
            "such as supply_air_temperature (docs/fdd.md lists them)"
        )
    return text


def parse_points(text: str) -> dict[str, frozenset[str]]:
    """Asset -> its metrics, from a points file (see the module docstring)."""
    if len(text.encode()) > MAX_POINTS_BYTES:
        raise PointsFileError(f"the points file is larger than {MAX_POINTS_BYTES} bytes")
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    if not any(":" in line or line.startswith("-") for line in lines):
        found = [_metric(line, f"line {n}") for n, line in enumerate(lines, 1) if line]
        if not found:
            raise PointsFileError("the points file lists no points (one metric per line)")
        return {"-": frozenset(found)}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PointsFileError(f"not valid YAML: {exc}".splitlines()[0]) from None
    if isinstance(data, list):
        data = {"-": data}
    if not isinstance(data, dict) or not data:
        raise PointsFileError(
            "expected one metric per line, or YAML mapping each asset to a list of metrics"
        )
    assets: dict[str, frozenset[str]] = {}
    for asset, points in data.items():
        name = str(asset)
        if not isinstance(points, list) or not points:
            raise PointsFileError(f"asset {name!r}: expected a non-empty list of metrics")
        if len(points) > MAX_POINTS_PER_ASSET:
            raise PointsFileError(f"asset {name!r}: more than {MAX_POINTS_PER_ASSET} points")
        assets[name] = frozenset(_metric(p, f"asset {name!r}") for p in points)
    return assets


def coverage(rule_file: RuleFile, assets: dict[str, frozenset[str]]) -> list[Coverage]:
    """Per asset (in the file's order): which enabled rules its points let run."""
    found = []
    for asset, points in assets.items():
        runs: list[str] = []
        skips: dict[str, list[str]] = {}
        for rule in rule_file.rules:
            if not rule.enabled:
                continue
            missing = sorted(set(rule.metrics()) - points)
            if missing:
                skips[rule.name] = missing
            else:
                runs.append(rule.name)
        found.append(Coverage(asset, runs, skips))
    return found
