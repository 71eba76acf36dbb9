"""Replay: recorded readings through the live engine on a simulated clock (no sleeping).

The clock is the events' own timestamps. Between two events the engine is ticked every
``tick_s`` of simulated time (on a grid aligned to the epoch), then the event is evaluated and
the engine ticked at its time, so heartbeat, stale-point and held (maintenance/flapping) alerts
come due in replay within ``tick_s`` of when they would have live (the live stack ticks every
second). ``facility rules replay`` and the library tests use it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from facility.core.types import Alert, Presence, Reading
from rules.engine import RuleEngine

__all__ = ["MAX_TICKS_PER_GAP", "replay"]

MAX_TICKS_PER_GAP = 100_000  # a year-long hole in a recording must not stall the replay


def replay(
    engine: RuleEngine, events: Iterable[Reading | Presence], *, tick_s: float = 10.0
) -> Iterator[Alert]:
    """Yield the alerts of ``events``, which must come in timestamp order."""
    if not tick_s > 0:
        raise ValueError(f"tick_s must be positive, got {tick_s!r}")
    previous: float | None = None
    for event in events:
        now = event.ts.timestamp()
        if previous is not None and now > previous:
            first = math.floor(previous / tick_s) + 1
            last = math.ceil(now / tick_s) - 1
            step = max(1, math.ceil((last - first + 1) / MAX_TICKS_PER_GAP))
            for k in range(first, last + 1, step):
                yield from engine.tick(datetime.fromtimestamp(k * tick_s, UTC))
        previous = now if previous is None else max(previous, now)
        if isinstance(event, Reading):
            yield from engine.process([event])
        else:
            yield from engine.process_presence([event])
        yield from engine.tick(event.ts)
