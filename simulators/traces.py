"""Readings of one device model straight from its physics, without MQTT or codecs.

The fault-detection tests and ``benchmarks/bench_fdd.py`` replay days of one-minute data through
the rules engine; going through payloads and decoding would only make that slower, and
:mod:`simulators.replay` already proves the codec path.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta

from facility.core.types import Reading
from rules.points import AHU_POINTS
from simulators.devices import Clock, DeviceModel

__all__ = ["FaultAt", "trace"]

#: (fault, start second, magnitude or None)
FaultAt = tuple[str, float, float | None]

_UNITS: Mapping[str, str] = {**AHU_POINTS, "filter_pressure_drop": "Pa"}


def trace(
    model: DeviceModel,
    *,
    device: str,
    start: datetime,
    hours: float,
    step_s: float = 60.0,
    seed: int = 0,
    faults: tuple[FaultAt, ...] = (),
    metrics: frozenset[str] | None = None,
) -> Iterator[Reading]:
    """Every ``step_s`` for ``hours``: the model's values as readings (``metrics`` only)."""
    rng = random.Random(seed)
    steps = int(hours * 3600 / step_s)
    for i in range(steps + 1):
        t = i * step_s
        for name, at, magnitude in faults:
            if t >= at:
                model.start_fault(name, at, magnitude=magnitude)
        clock = Clock.at(start, t)
        ts = start + timedelta(seconds=t)
        for metric, value in model.sample(clock, step_s, rng).items():
            if metrics is None or metric in metrics:
                yield Reading(device, metric, value, _UNITS.get(metric, ""), ts)
