"""Hot reload from a real file: changes apply, unchanged rules keep state, bad files refused."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from facility.core.types import Reading
from rules import RuleEngine, RulesWatcher, load_rules

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

V1 = """rules:
  - {name: hot, kind: threshold, select: {metric: temperature}, above: 30, for: 10m}
  - {name: leak, kind: threshold, select: {metric: water_leak}, above: 0.5}
"""


def hot(seconds: float, value: float = 35.0) -> Reading:
    return Reading("room-1", "temperature", value, "degC", T0 + timedelta(seconds=seconds))


def write(path: Path, text: str, bump_s: int = 0) -> None:
    path.write_text(text, encoding="utf-8")
    stamp = path.stat().st_mtime + bump_s  # coarse file-system clocks: make the change visible
    os.utime(path, (stamp, stamp))


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    write(path, V1)
    return path


def test_added_rule_takes_effect_and_unchanged_rule_keeps_its_pending_window(
    rules_file: Path,
) -> None:
    engine = RuleEngine(load_rules(rules_file))
    watcher = RulesWatcher(rules_file, engine)
    engine.process([hot(0)])
    write(
        rules_file,
        V1 + "  - {name: cold, kind: threshold, select: {metric: temperature}, below: 5}\n",
        2,
    )
    report = watcher.poll()
    assert report is not None
    assert (report.kept, report.added) == (["hot", "leak"], ["cold"])
    (fired,) = engine.process([hot(600)])  # the window that began before the reload completes
    assert fired.rule == "hot"
    alerts = engine.process([hot(660, value=2)])
    assert sorted((a.rule, a.state.value) for a in alerts) == [
        ("cold", "firing"),
        ("hot", "resolved"),
    ]


@pytest.mark.parametrize(
    "broken",
    [
        "rules: [{name: hot, kind: threshold, select: {metric: temperature}, above: hot}]",
        "rules:\n  - {name: x, kind: teleport}\n",
        "{{{ not yaml",
        "\x00\x01binary",
        "rules: " + "[" * 5000,
    ],
)
def test_broken_file_is_refused_logged_and_the_old_rules_keep_running(
    rules_file: Path, broken: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = RuleEngine(load_rules(rules_file))
    watcher = RulesWatcher(rules_file, engine)
    engine.process([hot(0)])
    write(rules_file, broken, 2)
    with caplog.at_level(logging.ERROR, logger="rules.reload"):
        assert watcher.poll() is None
    assert any("refused" in r.getMessage() for r in caplog.records)
    assert any("keep running" in r.getMessage() for r in caplog.records)
    assert watcher.last_errors
    (fired,) = engine.process([hot(600)])
    assert fired.rule == "hot"
    write(rules_file, V1.replace("above: 30", "above: 40"), 4)  # fixed: now it reloads
    report = watcher.poll()
    assert report is not None and report.changed == ["hot"]


def test_touching_the_file_without_changing_it_reloads_nothing(rules_file: Path) -> None:
    engine = RuleEngine(load_rules(rules_file))
    watcher = RulesWatcher(rules_file, engine)
    write(rules_file, V1, 2)
    assert watcher.poll() is None
    assert watcher.reloads == 0


def test_a_deleted_file_keeps_the_current_rules(
    rules_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = RuleEngine(load_rules(rules_file))
    watcher = RulesWatcher(rules_file, engine)
    rules_file.unlink()
    assert watcher.poll() is None
    assert "is gone" in caplog.text
    assert [r.rule.name for r in engine.evaluators.values()] == ["hot", "leak"]
