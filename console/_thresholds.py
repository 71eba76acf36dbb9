"""The alarm bands a chart draws: the threshold rules that watch a device's metric.

Read from the rule file the engine runs now (it can be reloaded while the console is up), so a
chart always shows the limits that would open a work order today, not those of last week.
Only ``threshold`` rules have a fixed line to draw; rules that select by site, building or
asset type need the resolver's attributes and are left out rather than guessed.
"""

from __future__ import annotations

from collections.abc import Callable

from console._charts import Band
from rules.model import RuleFile, ThresholdRule

__all__ = ["BandsOf", "alarm_bands", "no_bands"]

#: (device, metric, asset code or None) -> the bands to shade on that chart.
BandsOf = Callable[[str, str, str | None], list[Band]]


def no_bands(device: str, metric: str, asset: str | None) -> list[Band]:
    """The default when the console runs without a rules engine (tests, a read-only mount)."""
    return []


def alarm_bands(rule_file: RuleFile, *, device: str, metric: str, asset: str | None) -> list[Band]:
    """The alarm regions of the enabled threshold rules on ``device``'s ``metric``."""
    bands: list[Band] = []
    for rule in rule_file.rules:
        if not isinstance(rule, ThresholdRule) or not rule.enabled:
            continue
        select = rule.select
        if select.metric != metric or not select.matches_device(device):
            continue
        if select.needs_attributes or (
            select.asset is not None and (asset is None or not select.matches_asset(asset))
        ):
            continue
        label = rule.description or rule.name
        if rule.above is not None:
            bands.append(Band(label=label, low=rule.above))
        if rule.below is not None:
            bands.append(Band(label=label, high=rule.below))
    return bands
