"""Indexed evaluation: a reading meets only the rules that can match it, however many exist."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from facility.core.types import Reading
from rules import RuleEngine, parse_rules
from rules._kinds import Evaluator

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def many_rules(unrelated: int) -> str:
    lines = [
        "rules:",
        '  - {name: glob, kind: threshold, select: {device: "bench-*", metric: t}, above: 9}',
        "  - {name: exact, kind: threshold, select: {device: bench-1, metric: t}, above: 9}",
        "  - {name: by-asset, kind: threshold, select: {asset: A-1, metric: t}, above: 9}",
        "  - {name: other-metric, kind: threshold, select: {metric: humidity}, above: 9}",
    ]
    lines += [
        f"  - {{name: r{i}, kind: threshold, select: {{device: room-{i}, metric: t}}, above: 9}}"
        for i in range(unrelated)
    ]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("unrelated", [0, 100, 5000])
def test_a_reading_is_evaluated_only_by_rules_that_can_match_it(
    unrelated: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = RuleEngine(parse_rules(many_rules(unrelated)), asset_of={"bench-1": "A-1"}.get)
    seen: list[str] = []
    original = Evaluator.on_reading

    def spy(self: Evaluator[Any, Any], reading: Reading, ts: float, asset: str) -> Any:
        seen.append(self.rule.name)
        return original(self, reading, ts, asset)

    for evaluator in engine.evaluators.values():
        monkeypatch.setattr(evaluator, "on_reading", spy.__get__(evaluator))
    engine.process([Reading("bench-1", "t", 1.0, "degC", T0)])
    assert sorted(seen) == ["by-asset", "exact", "glob"]


def test_only_true_globs_are_scanned() -> None:
    engine = RuleEngine(parse_rules(many_rules(50)))
    index = engine._index["t"]
    assert [e.rule.name for e in index.scan] == ["glob"]
    assert len(index.by_device) == 51
    assert list(index.by_asset) == ["A-1"]


def test_rules_keyed_by_metric_never_see_other_metrics() -> None:
    engine = RuleEngine(parse_rules(many_rules(0)))
    assert engine.process([Reading("bench-1", "co2", 5000.0, "ppm", T0)]) == []
