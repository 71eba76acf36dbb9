"""Reading stores: SQL (embedded default, via SQLAlchemy) and InfluxDB (production).

The InfluxDB store is imported on first use: influxdb-client and its dependencies cost ~40 MB
of RSS in every worker that does not use them (measured with bench_memory).
"""

from typing import Any

from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine

__all__ = ["InfluxOptions", "InfluxReadingStore", "SqlReadingStore", "SqlStateStore", "make_engine"]


def __getattr__(name: str) -> Any:
    if name in ("InfluxOptions", "InfluxReadingStore"):
        from gateway.stores import influx

        return getattr(influx, name)
    raise AttributeError(f"module 'gateway.stores' has no attribute {name!r}")
