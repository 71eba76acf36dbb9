"""BMS trend-log import: CSV trend exports to readings (``facility readings convert|import``).

Only the map and the streaming reader are re-exported; the CLI (:mod:`gateway.trends.cli`) is
mounted lazily by ``facility``. See docs/trends.md.
"""

from gateway.trends.convert import TrendReject, TrendStats, localize, read_trend
from gateway.trends.mapping import (
    Ambiguous,
    CsvDialect,
    Layout,
    PointMap,
    TimestampSpec,
    TrendMap,
    ValueKind,
    load_trend_map,
    parse_trend_map,
)

__all__ = [
    "Ambiguous",
    "CsvDialect",
    "Layout",
    "PointMap",
    "TimestampSpec",
    "TrendMap",
    "TrendReject",
    "TrendStats",
    "ValueKind",
    "load_trend_map",
    "localize",
    "parse_trend_map",
    "read_trend",
]
