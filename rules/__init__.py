"""Rules engine: YAML rules evaluated over readings, emitting kernel ``Alert`` objects.

Imports only the kernel (``facility``), stdlib and third-party libraries, never ``maintenance``
or ``gateway``.
"""

from rules.engine import AssetResolver, ReloadReport, RuleEngine, render_message
from rules.loader import (
    DEFAULT_RULES,
    DEMO_RULES,
    EXAMPLES_DIR,
    check_rules,
    load_rules,
    parse_rules,
)
from rules.model import (
    BaselineRule,
    CompositeRule,
    Condition,
    ExpressionRule,
    FaultRule,
    FlatlineRule,
    OfflineRule,
    RateRule,
    RuleFile,
    Selector,
    StaleRule,
    ThresholdRule,
    parse_duration,
)
from rules.reload import RulesWatcher
from rules.schedule import MaintenanceWindow, Schedule, WeeklyWindow
from rules.state import RuleStateStore

__all__ = [
    "DEFAULT_RULES",
    "DEMO_RULES",
    "EXAMPLES_DIR",
    "AssetResolver",
    "BaselineRule",
    "CompositeRule",
    "Condition",
    "ExpressionRule",
    "FaultRule",
    "FlatlineRule",
    "MaintenanceWindow",
    "OfflineRule",
    "RateRule",
    "ReloadReport",
    "RuleEngine",
    "RuleFile",
    "RuleStateStore",
    "RulesWatcher",
    "Schedule",
    "Selector",
    "StaleRule",
    "ThresholdRule",
    "WeeklyWindow",
    "check_rules",
    "load_rules",
    "parse_duration",
    "parse_rules",
    "render_message",
]
