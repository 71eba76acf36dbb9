"""Reading stores: SQL (embedded default, via SQLAlchemy) and InfluxDB (production)."""

from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine

__all__ = ["SqlReadingStore", "SqlStateStore", "make_engine"]
