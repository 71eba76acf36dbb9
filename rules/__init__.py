"""Rules engine: YAML rules evaluated over readings, emitting kernel ``Alert`` objects.

Imports only the kernel (``facility``), never ``maintenance`` or ``gateway``.
"""

from rules.engine import RuleEngine, render_message
from rules.loader import check_rules, load_rules, parse_rules
from rules.model import OfflineRule, RuleFile, Selector, ThresholdRule, parse_duration

__all__ = [
    "OfflineRule",
    "RuleEngine",
    "RuleFile",
    "Selector",
    "ThresholdRule",
    "check_rules",
    "load_rules",
    "parse_duration",
    "parse_rules",
    "render_message",
]
