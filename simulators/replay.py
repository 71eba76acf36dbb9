"""Replay a scenario through the gateway codecs and the live rules engine, without a broker.

This is the same path as ``facility simulate --jsonl | facility gateway decode | facility rules
replay``, in one process: every simulated message is decoded (with its simulated time as the
receive time, so availability changes land when they happened), fed to a
:class:`~rules.engine.RuleEngine` in order, and the engine is ticked with event time so offline
rules fire. Tests use it to prove that a scenario's faults raise exactly the alerts it expects.
"""

from __future__ import annotations

from dataclasses import dataclass

from facility.core.types import Alert, AlertState, Reading
from gateway import codecs
from rules.engine import RuleEngine
from rules.model import RuleFile
from simulators.runner import Simulator

__all__ = ["ReplayResult", "replay"]


@dataclass(frozen=True, slots=True)
class ReplayResult:
    alerts: list[Alert]
    readings: int

    def firing(self) -> set[tuple[str, str]]:
        """(rule, asset) of every alert that fired."""
        return {(a.rule, a.asset) for a in self.alerts if a.state is AlertState.FIRING}


def replay(simulator: Simulator, rule_file: RuleFile, *, steps: int) -> ReplayResult:
    """Run ``steps`` intervals of ``simulator`` through decode and the rules engine."""
    asset_of_simulated = {spec.id: spec.asset for spec in simulator.scenario.devices}
    assets: dict[str, str] = {}
    engine = RuleEngine(rule_file, asset_of=assets.get)
    alerts: list[Alert] = []
    count = 0
    for message in simulator.messages(steps):
        decoded = codecs.decode(message.topic, message.payload, received=message.ts)
        for item in decoded:
            assets.setdefault(item.device, asset_of_simulated.get(message.device, item.device))
            if isinstance(item, Reading):
                count += 1
                alerts += engine.process([item])
            else:
                alerts += engine.process_presence([item])
            alerts += engine.tick(item.ts)
    return ReplayResult(alerts=alerts, readings=count)
