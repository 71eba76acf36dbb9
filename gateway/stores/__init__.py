"""Reading stores: SQL (embedded default, via SQLAlchemy), InfluxDB and VictoriaMetrics.

The InfluxDB and VictoriaMetrics stores are imported on first use: influxdb-client and its
dependencies cost ~40 MB of RSS in every worker that does not use them (measured with
bench_memory).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from facility.core.errors import ConfigError
from facility.core.settings import Settings
from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine

if TYPE_CHECKING:
    from gateway.stores.influx import InfluxReadingStore, TagsOf
    from gateway.stores.victoria import VictoriaReadingStore

__all__ = [
    "InfluxOptions",
    "InfluxReadingStore",
    "SqlReadingStore",
    "SqlStateStore",
    "VictoriaOptions",
    "VictoriaReadingStore",
    "make_engine",
    "open_reading_store",
]


def open_reading_store(
    settings: Settings,
    *,
    engine: Engine | None = None,
    tags_of: TagsOf | None = None,
) -> SqlReadingStore | InfluxReadingStore | VictoriaReadingStore:
    """The reading store the settings name.

    ``FACILITY_READING_STORE`` (``sql``, ``influxdb``, ``victoriametrics``) picks it; unset, it
    is InfluxDB when ``FACILITY_INFLUX_URL`` is set, VictoriaMetrics when
    ``FACILITY_VICTORIA_URL`` is, else the SQL store (``engine``, or the one
    ``FACILITY_DATABASE_URL`` / the data dir's ``readings.db`` names).

    The one place every part (``serve``, ``rules replay --from``, the PM and review CLIs) opens
    the store, so none of them can read another store than the gateway writes. The caller
    closes it. The InfluxDB client is imported only when used (~40 MB of RSS).

    Raises:
        ConfigError: the kind named needs a URL that is not set.
    """
    kind = settings.reading_store
    if kind is None and settings.influx_url:
        kind = "influxdb"
    elif kind is None and settings.victoria_url:
        kind = "victoriametrics"
    if kind == "victoriametrics":
        from gateway.stores.victoria import VictoriaOptions, VictoriaReadingStore  # on demand

        if not settings.victoria_url:
            raise ConfigError(
                "FACILITY_READING_STORE=victoriametrics needs FACILITY_VICTORIA_URL, "
                "e.g. http://victoriametrics:8428"
            )
        return VictoriaReadingStore(
            VictoriaOptions(
                url=settings.victoria_url,
                query_url=settings.victoria_query_url,
                batch_size=settings.batch_size,
            ),
            tags_of=tags_of,
        )
    if kind == "influxdb":
        if not settings.influx_url:
            raise ConfigError(
                "FACILITY_READING_STORE=influxdb needs FACILITY_INFLUX_URL, "
                "e.g. http://influxdb:8086"
            )
        from gateway.stores.influx import InfluxOptions, InfluxReadingStore  # ~40 MB: on demand

        token = settings.influx_token.get_secret_value() if settings.influx_token else None
        options = InfluxOptions(
            url=settings.influx_url,
            token=token,
            org=settings.influx_org,
            bucket=settings.influx_bucket,
            query_url=settings.influx_query_url,
            database=settings.influx_database,
            batch_size=settings.batch_size,
            flush_interval_ms=max(1, int(settings.flush_interval_s * 1000)),
        )
        return InfluxReadingStore(options, tags_of=tags_of)
    if engine is None:
        engine = make_engine(settings.database_url or settings.sqlite_url("readings.db"))
    return SqlReadingStore(engine)


def __getattr__(name: str) -> Any:
    if name in ("InfluxOptions", "InfluxReadingStore"):
        from gateway.stores import influx

        return getattr(influx, name)
    if name in ("VictoriaOptions", "VictoriaReadingStore"):
        from gateway.stores import victoria

        return getattr(victoria, name)
    raise AttributeError(f"module 'gateway.stores' has no attribute {name!r}")
