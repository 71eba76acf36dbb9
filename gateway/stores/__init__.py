"""Reading stores: SQL (embedded default, via SQLAlchemy) and InfluxDB (production)."""

from gateway.stores.influx import InfluxOptions, InfluxReadingStore
from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine

__all__ = ["InfluxOptions", "InfluxReadingStore", "SqlReadingStore", "SqlStateStore", "make_engine"]
