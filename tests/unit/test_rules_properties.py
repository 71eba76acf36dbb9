"""Property tests (hypothesis) for the rule kinds: what must hold for any series of readings."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from facility.core.types import Alert, Reading
from rules import RuleEngine, parse_rules

# no per-example deadline: timing is measured in benchmarks/, never asserted in tests
NO_DEADLINE = settings(deadline=None)

T0 = datetime(2026, 1, 5, tzinfo=UTC)
ABOVE, CLEAR = 30.0, 25.0

HYSTERESIS = parse_rules(
    f"""
rules:
  - {{name: hot, kind: threshold, select: {{metric: t}}, above: {ABOVE}, clear_below: {CLEAR}}}
"""
)
FOR_RULE = parse_rules(
    "rules:\n  - {name: hot, kind: threshold, select: {metric: t}, above: 30, for: 10m}\n"
)

values = st.floats(min_value=-50, max_value=100, allow_nan=False)
gaps_s = st.integers(min_value=1, max_value=900)


def readings(vals: list[float], gaps: list[int]) -> list[Reading]:
    out, ts = [], T0
    for value, gap in zip(vals, gaps, strict=False):
        ts += timedelta(seconds=gap)
        out.append(Reading("d", "t", value, "degC", ts))
    return out


def run(engine: RuleEngine, events: list[Reading]) -> list[Alert]:
    alerts: list[Alert] = []
    for reading in events:
        alerts += engine.process([reading])
    return alerts


@NO_DEADLINE
@given(st.lists(values, min_size=1, max_size=80), st.lists(gaps_s, min_size=80, max_size=80))
def test_hysteresis_never_fires_twice_without_leaving_the_band(
    vals: list[float], gaps: list[int]
) -> None:
    events = readings(vals, gaps)
    alerts = run(RuleEngine(HYSTERESIS), events)
    assert [a.state.value for a in alerts] == ["firing", "resolved"] * (len(alerts) // 2) + (
        ["firing"] if len(alerts) % 2 else []
    )
    # between two firings some value went down to the clear threshold
    fire_times = [a.ts for a in alerts if a.state.value == "firing"]
    for first, second in itertools.pairwise(fire_times):
        between = [r.value for r in events if first < r.ts < second]
        assert any(v <= CLEAR for v in between)


in_band = st.floats(min_value=CLEAR, max_value=ABOVE, exclude_min=True, allow_nan=False)


@NO_DEADLINE
@given(st.lists(in_band, min_size=1, max_size=60))
def test_values_inside_the_band_after_a_firing_raise_nothing_more(band: list[float]) -> None:
    engine = RuleEngine(HYSTERESIS)
    events = readings([ABOVE + 5, *band], [1] * (len(band) + 1))
    alerts = run(engine, events)
    assert [a.state.value for a in alerts] == ["firing"]


@NO_DEADLINE
@given(st.lists(gaps_s, min_size=1, max_size=60))
def test_for_window_is_measured_on_reading_timestamps(gaps: list[int]) -> None:
    events = readings([35.0] * len(gaps), gaps)
    alerts = run(RuleEngine(FOR_RULE), events)
    due = [r.ts for r in events if r.ts - events[0].ts >= timedelta(minutes=10)]
    assert [a.ts for a in alerts] == due[:1]


@given(
    st.lists(values, min_size=1, max_size=50),
    st.lists(gaps_s, min_size=50, max_size=50),
    st.lists(st.tuples(st.integers(0, 49), st.booleans(), values), max_size=30),
)
@settings(max_examples=150, deadline=None)
def test_duplicate_and_late_readings_change_nothing(
    vals: list[float], gaps: list[int], noise: list[tuple[int, bool, float]]
) -> None:
    ordered = readings(vals, gaps)
    noisy = list(ordered)
    # after reading i, re-send an earlier reading (duplicate) or a late one with any value
    for position, duplicate, value in sorted(noise, key=lambda n: -n[0]):
        if position >= len(ordered):
            continue
        original = ordered[position]
        extra = (
            original
            if duplicate
            else Reading("d", "t", value, "degC", original.ts - timedelta(milliseconds=1))
        )
        noisy.insert(noisy.index(original) + 1, extra)
    for rules in (HYSTERESIS, FOR_RULE):
        assert run(RuleEngine(rules), noisy) == run(RuleEngine(rules), ordered)


BASELINE = parse_rules(
    "rules:\n  - {name: b, kind: baseline, select: {metric: power}, learning: 14d,"
    " min_samples: 1, sensitivity: 1}\n"
)


@given(
    st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), min_size=2, max_size=14 * 24)
)
@settings(max_examples=60, deadline=None)
def test_baseline_is_quiet_during_learning_whatever_the_values(hourly: list[float]) -> None:
    engine = RuleEngine(BASELINE)
    alerts: list[Alert] = []
    for hour, value in enumerate(hourly):
        alerts += engine.process([Reading("m", "power", value, "W", T0 + timedelta(hours=hour))])
    assert alerts == []


# -- every reading-driven kind ------------------------------------------------------------------
KINDS = {
    "threshold": "{name: k, kind: threshold, select: {metric: t}, above: 30, clear_below: 20,"
    " for: 5m, clear_for: 2m}",
    "rate": "{name: k, kind: rate, select: {metric: t}, rise: 10, window: 10m, for: 1m}",
    "flatline": "{name: k, kind: flatline, select: {metric: t}, tolerance: 0.5, for: 20m}",
    "fault": "{name: k, kind: fault, select: {metric: t}, ignore: [0], for: 1m}",
    "composite": "{name: k, kind: composite, mode: any, for: 3m, conditions:"
    " [{metric: t, above: 40}, {metric: u, below: 0}]}",
}
coarse = st.integers(min_value=-5, max_value=60).map(float)  # repeats make flatlines happen


def mixed(vals: list[float], gaps: list[int]) -> list[Reading]:
    """Readings of two metrics (t, u) of one device, as a multi-metric payload would give."""
    out, ts = [], T0
    for i, (value, gap) in enumerate(zip(vals, gaps, strict=False)):
        ts += timedelta(seconds=gap)
        out.append(Reading("d", "t" if i % 3 else "u", value if i % 3 else -value, "x", ts))
    return out


@given(
    st.sampled_from(sorted(KINDS)),
    st.lists(coarse, min_size=1, max_size=60),
    st.lists(gaps_s, min_size=60, max_size=60),
    st.lists(st.tuples(st.integers(0, 59), st.booleans(), coarse), max_size=20),
)
@settings(max_examples=200, deadline=None)
def test_every_kind_alternates_and_ignores_duplicate_and_late_readings(
    kind: str,
    vals: list[float],
    gaps: list[int],
    noise: list[tuple[int, bool, float]],
) -> None:
    rules = parse_rules(f"rules:\n  - {KINDS[kind]}\n")
    ordered = mixed(vals, gaps)
    alerts = run(RuleEngine(rules), ordered)
    states = [a.state.value for a in alerts]
    assert states == ["firing", "resolved"] * (len(states) // 2) + (
        ["firing"] if len(states) % 2 else []
    )
    noisy = list(ordered)
    for position, duplicate, value in sorted(noise, key=lambda n: -n[0]):
        if position >= len(ordered):
            continue
        original = ordered[position]
        late = Reading(
            original.device, original.metric, value, "x", original.ts - timedelta(seconds=1)
        )
        noisy.insert(noisy.index(original) + 1, original if duplicate else late)
    assert run(RuleEngine(rules), noisy) == alerts


@NO_DEADLINE
@given(st.lists(gaps_s, min_size=2, max_size=40), st.integers(min_value=0, max_value=3600))
def test_ticking_twice_at_the_same_instant_raises_nothing_new(gaps: list[int], extra: int) -> None:
    rules = parse_rules(
        "rules:\n  - {name: hb, kind: heartbeat, after: 5m}\n"
        "  - {name: st, kind: stale, select: {metric: t}, after: 2m}\n"
    )
    engine = RuleEngine(rules)
    events = mixed([20.0] * len(gaps), gaps)
    run(engine, events)
    now = events[-1].ts + timedelta(seconds=extra)
    engine.tick(now)
    assert engine.tick(now) == []
