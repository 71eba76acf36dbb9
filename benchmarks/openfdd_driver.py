"""Run open-fdd's G36 AHU rules (FC1-FC15) on CSV days exported by ``bench_fdd.py``.

This script runs inside the benchmark's own environment (``benchmarks/.envs/openfdd``, where
``bench_fdd.py`` installs ``open-fdd[oracle]`` from PyPI), never in the project's: open-fdd pins
its own pandas and numpy, and the comparison must not depend on our dependencies.

Input: a directory of CSV files (one simulated day each, plus ``speed.csv``), one row per
minute, columns named by open-fdd's roles in its units (degF, in. w.c., cfm, commands as
fractions 0-1), and ``meta.json`` with the site parameter open-fdd cannot know (the design
minimum outdoor airflow for FC6). Rules run with open-fdd's shipped defaults
(``open_fdd.rules.run_rule``); only the equipment type (AHU) and the poll interval are given.

Output (stdout, one JSON object): per day file, the rules whose confirmed fault mask is true
somewhere, the hours (0-23) in which any is, and the errors; then the speed run: cells
(readings) evaluated, seconds for FC1-FC15, and seconds to load the CSV.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import pandas as pd
from open_fdd.rules import run_rule

RULES = [f"FC{n}" for n in range(1, 16)]


def load(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, index_col="timestamp", parse_dates=["timestamp"])
    frame.attrs["equipment_id"] = "AHU-1"
    frame.attrs["equipment_type"] = "AHU"
    return frame


def run(frame: pd.DataFrame, params: dict[str, Any]) -> tuple[dict[str, list[int]], list[str]]:
    """Rule -> hours flagged (confirmed fault) for one frame; plus errors."""
    flagged: dict[str, list[int]] = {}
    errors: list[str] = []
    for rule in RULES:
        try:
            result = run_rule(rule, frame, params=params.get(rule, {}), poll_seconds=60.0)
        except Exception as exc:  # a rule's crash is reported, the rest run
            errors.append(f"{rule}: {type(exc).__name__}: {exc}"[:300])
            continue
        if result.status == "ERROR":
            errors.append(f"{rule}: {result.notes}"[:300])
        mask = result.confirmed_fault
        if mask is None or not bool(mask.fillna(False).astype(bool).any()):
            continue
        hit = mask.fillna(False).astype(bool)
        hours = sorted({int(ts.hour) for ts in hit[hit].index})
        flagged[rule] = hours
    return flagged, errors


def main() -> None:
    folder = Path(sys.argv[1])
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    params: dict[str, Any] = meta.get("params", {})
    days: dict[str, Any] = {}
    for path in sorted(folder.glob("day-*.csv")):
        try:
            flagged, errors = run(load(path), params)
        except Exception:  # one bad file must not hide the others
            days[path.stem] = {"error": traceback.format_exc(limit=2)[-400:]}
            continue
        days[path.stem] = {"rules": flagged, "errors": errors}
    speed: dict[str, Any] = {}
    speed_csv = folder / "speed.csv"
    if speed_csv.exists():
        began = time.perf_counter()
        frame = load(speed_csv)
        loaded = time.perf_counter() - began
        cpu, wall = time.process_time(), time.perf_counter()
        _, errors = run(frame, params)
        speed = {
            "cells": int(frame.notna().sum().sum()),
            "seconds": time.perf_counter() - wall,
            "cpu_seconds": time.process_time() - cpu,
            "load_seconds": loaded,
            "errors": errors,
        }
    json.dump({"days": days, "speed": speed}, sys.stdout)


if __name__ == "__main__":
    main()
