"""The SQL reading store and device-state store (SQLite by default, PostgreSQL in production).

This is the embedded stand-in for a time-series database, so it creates its own tables on open
(as InfluxDB creates measurements) instead of going through the work-order Alembic migrations.
Timestamps are stored as float epoch seconds: portable across SQLite and PostgreSQL, cheap to
index, and exact to the microsecond for the next 200 years.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from facility.errors import ServiceUnavailable
from facility.types import DeviceState, Presence, Reading, ReadingPage

__all__ = ["SqlReadingStore", "SqlStateStore", "make_engine", "upsert"]

log = logging.getLogger(__name__)

metadata = sa.MetaData()
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

readings = sa.Table(
    "readings",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("device", sa.String(200), nullable=False),
    sa.Column("metric", sa.String(64), nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("unit", sa.String(20), nullable=False),
    sa.Column("quality", sa.String(16), nullable=False, server_default="good"),
    # one point per (device, metric, ts), as InfluxDB has one per series + time: a message the
    # broker redelivers after a crash is written again and must not count twice
    sa.Index("ux_readings_device_metric_ts", "device", "metric", "ts", unique=True),
    sa.Index("ix_readings_ts", "ts"),
)
_UNIQUE_POINT = next(i for i in readings.indexes if i.name == "ux_readings_device_metric_ts")

device_latest = sa.Table(
    "device_latest",
    metadata,
    sa.Column("device", sa.String(200), primary_key=True),
    sa.Column("metric", sa.String(64), primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("unit", sa.String(20), nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
)

device_presence = sa.Table(
    "device_presence",
    metadata,
    sa.Column("device", sa.String(200), primary_key=True),
    sa.Column("last_seen", sa.Float, nullable=False),
    sa.Column("online", sa.Boolean, nullable=False),
    sa.Column("changed_at", sa.Float, nullable=False),
)

presence_history = sa.Table(
    "presence_history",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("device", sa.String(200), nullable=False, index=True),
    sa.Column("online", sa.Boolean, nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
)


def make_engine(url: str) -> Engine:
    """An engine tuned for our use: WAL and a busy timeout on SQLite, pre-ping elsewhere."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def upsert(engine: Engine, table: sa.Table, keys: list[str]) -> sa.Executable:
    """An ``INSERT ... ON CONFLICT DO UPDATE`` for SQLite and PostgreSQL, without values.

    Execute it with a list of row dicts (``conn.execute(stmt, rows)``): the statement is then
    compiled once and cached, and the driver runs it as executemany. Building a multi-row
    ``VALUES`` clause per batch instead made SQLAlchemy recompile it every time, which cost
    more than half of the gateway's CPU under load (measured with bench_ingest).
    """
    return _upsert_statement(engine.dialect.name, table, tuple(keys))


@lru_cache(maxsize=32)
def _upsert_statement(dialect: str, table: sa.Table, keys: tuple[str, ...]) -> sa.Executable:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table)
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    else:
        raise ValueError(f"upsert is not implemented for {dialect}")
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    result: sa.Executable = stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)
    return result


@lru_cache(maxsize=64)
def _compiled_for(
    stmt: sa.Executable, dialect: sa.Dialect, keys: tuple[str, ...]
) -> tuple[str, tuple[str, ...] | None]:
    compiled = stmt.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    order = tuple(compiled.positiontup) if compiled.positional else None
    return str(compiled), order


def execute_many(conn: sa.Connection, stmt: sa.Executable, rows: list[dict[str, Any]]) -> None:
    """Run a cached INSERT/upsert for many rows straight through the DB-API's executemany.

    SQLAlchemy's own executemany builds a parameter dict per row through its type machinery;
    at ingest rates that cost more than the database write itself (measured with
    bench_ingest). Our rows hold only str/float/bool values, which both drivers take as is.
    """
    if not rows:
        return
    sql, order = _compiled_for(stmt, conn.dialect, tuple(rows[0]))
    if order is None:
        conn.exec_driver_sql(sql, rows)
    else:
        conn.exec_driver_sql(sql, [tuple(row[key] for key in order) for row in rows])


def _insert_ignoring_duplicates(engine: Engine) -> sa.Executable:
    """``INSERT ... ON CONFLICT (device, metric, ts) DO NOTHING`` for SQLite and PostgreSQL."""
    keys = ["device", "metric", "ts"]
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg_stmt: sa.Executable = pg_insert(readings).on_conflict_do_nothing(index_elements=keys)
        return pg_stmt
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite_stmt: sa.Executable = sqlite_insert(readings).on_conflict_do_nothing(
            index_elements=keys
        )
        return lite_stmt
    raise ValueError(
        f"the SQL reading store supports SQLite and PostgreSQL, not {engine.dialect.name}"
    )


_SQL_AGGREGATES: dict[str, Any] = {
    "mean": sa.func.avg,
    "min": sa.func.min,
    "max": sa.func.max,
    "sum": sa.func.sum,
    "count": sa.func.count,
}


def _epoch(ts: datetime) -> float:
    return ts.timestamp()


def _from_epoch(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


def _unavailable(engine: Engine, exc: Exception) -> ServiceUnavailable:
    url = engine.url.render_as_string(hide_password=True)
    return ServiceUnavailable(f"reading store at {url} failed ({type(exc).__name__}: {exc})"[:400])


def encode_cursor(ts: float, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{ts!r}:{row_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[float, int]:
    """Raises ValueError with a readable message for a cursor we did not issue."""
    try:
        ts_text, id_text = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        return float(ts_text), int(id_text)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("cursor is not one this API returned; start without a cursor") from exc


class SqlReadingStore:
    """Readings in one SQL table, written in batches, paged by a keyset cursor."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        try:
            metadata.create_all(engine)
            self._ensure_unique_points()
        except OperationalError as exc:
            raise _unavailable(engine, exc) from exc
        self._insert = _insert_ignoring_duplicates(engine)

    def _ensure_unique_points(self) -> None:
        """Add the one-point-per-key index to a table created before it existed."""
        try:
            _UNIQUE_POINT.create(self.engine, checkfirst=True)
        except sa.exc.IntegrityError as exc:
            log.warning(
                "readings table holds duplicate points, so redelivered messages may be stored "
                "twice; remove duplicates and restart (%s)",
                exc.orig,
            )

    def write(self, batch: Sequence[Reading]) -> None:
        """Insert a batch; a point already stored (same device, metric, ts) is skipped."""
        if not batch:
            return
        rows = [
            {
                "device": r.device,
                "metric": r.metric,
                "ts": _epoch(r.ts),
                "value": r.value,
                "unit": r.unit,
                "quality": r.quality,
            }
            for r in batch
        ]
        try:
            with self.engine.begin() as conn:
                execute_many(conn, self._insert, rows)
        except SQLAlchemyError as exc:
            raise _unavailable(self.engine, exc) from exc

    def _filters(
        self,
        device: str | None,
        metric: str | None,
        start: datetime | None,
        end: datetime | None,
    ) -> list[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        if device:
            conditions.append(readings.c.device == device)
        if metric:
            conditions.append(readings.c.metric == metric)
        if start:
            conditions.append(readings.c.ts >= _epoch(start))
        if end:
            conditions.append(readings.c.ts < _epoch(end))
        return conditions

    def query(
        self,
        *,
        device: str | None = None,
        metric: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> ReadingPage:
        conditions = self._filters(device, metric, start, end)
        page_conditions = list(conditions)
        if cursor:
            after_ts, after_id = decode_cursor(cursor)
            page_conditions.append(
                sa.or_(
                    readings.c.ts > after_ts,
                    sa.and_(readings.c.ts == after_ts, readings.c.id > after_id),
                )
            )
        select = (
            sa.select(readings)
            .where(*page_conditions)
            .order_by(readings.c.ts, readings.c.id)
            .limit(limit + 1)
        )
        count = sa.select(sa.func.count()).select_from(readings).where(*conditions)
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select).all()
                total = int(conn.execute(count).scalar_one())
        except SQLAlchemyError as exc:
            raise _unavailable(self.engine, exc) from exc
        more = len(rows) > limit
        rows = rows[:limit]
        items = [
            Reading(
                device=row.device,
                metric=row.metric,
                value=row.value,
                unit=row.unit,
                ts=_from_epoch(row.ts),
                quality=row.quality,
            )
            for row in rows
        ]
        next_cursor = encode_cursor(rows[-1].ts, rows[-1].id) if more and rows else None
        return ReadingPage(items=items, total=total, next_cursor=next_cursor)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(readings)).scalar_one())

    def history(
        self,
        *,
        metric: str,
        start: datetime,
        end: datetime,
        device: str | None = None,
        asset: str | None = None,
        window_s: int | None = None,
        aggregate: str = "mean",
    ) -> list[tuple[datetime, float]]:
        """Same answers as ``InfluxReadingStore.history`` for a device (windows aligned to the
        epoch, empty windows left out); ``aggregate`` is one of mean, min, max, sum, count.

        The readings table has no asset column (assets live in maintenance), so ``asset`` is
        refused here: resolve the asset's devices first.
        """
        if asset is not None or device is None:
            raise ValueError("the SQL store gives history per device; pass device=")
        conditions = self._filters(device, metric, start, end)
        if window_s is None:
            select: Any = (
                sa.select(readings.c.ts, readings.c.value)
                .where(*conditions)
                .order_by(readings.c.ts, readings.c.id)
            )
        else:
            function = _SQL_AGGREGATES.get(aggregate)
            if function is None:
                raise ValueError(
                    f"aggregate {aggregate!r} is not one of {sorted(_SQL_AGGREGATES)} in SQL"
                )
            if window_s < 1:
                raise ValueError("window_s must be at least 1 second")
            scaled = readings.c.ts / int(window_s)
            if self.engine.dialect.name == "sqlite":  # CAST truncates; ts > 0, so it is floor
                bucket: Any = sa.cast(scaled, sa.BigInteger)
            else:
                bucket = sa.func.floor(scaled)
            select = (
                sa.select((bucket * int(window_s)).label("ts"), function(readings.c.value))
                .where(*conditions)
                .group_by(bucket)
                .order_by(bucket)
            )
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select).all()
        except SQLAlchemyError as exc:
            raise _unavailable(self.engine, exc) from exc
        return [(_from_epoch(float(row[0])), float(row[1])) for row in rows]

    def latest(self, *, device: str | None = None) -> list[tuple[str, str, float, str, datetime]]:
        """The newest (device, metric, value, unit, ts) of every series, optionally one device."""
        newest = (
            sa.select(readings.c.device, readings.c.metric, sa.func.max(readings.c.ts).label("ts"))
            .where(*self._filters(device, None, None, None))
            .group_by(readings.c.device, readings.c.metric)
            .subquery()
        )
        select = (
            sa.select(
                readings.c.device,
                readings.c.metric,
                readings.c.value,
                readings.c.unit,
                readings.c.ts,
            )
            .join(
                newest,
                sa.and_(
                    readings.c.device == newest.c.device,
                    readings.c.metric == newest.c.metric,
                    readings.c.ts == newest.c.ts,
                ),
            )
            .order_by(readings.c.device, readings.c.metric)
        )
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(select).all()
        except SQLAlchemyError as exc:
            raise _unavailable(self.engine, exc) from exc
        return [
            (str(row.device), str(row.metric), float(row.value), str(row.unit), _from_epoch(row.ts))
            for row in rows
        ]

    def close(self) -> None:
        self.engine.dispose()


class SqlStateStore:
    """Latest value per (device, metric), last-seen and presence, with presence history.

    The gateway writes it once per batch; the API reads it, so any number of API processes see
    the same device list.
    """

    def __init__(self, engine: Engine, *, heartbeat_timeout_s: float = 300.0) -> None:
        self.engine = engine
        self.heartbeat_timeout_s = heartbeat_timeout_s
        try:
            metadata.create_all(engine)
        except OperationalError as exc:
            raise _unavailable(engine, exc) from exc

    def record(self, batch: Iterable[Reading], presences: Iterable[Presence] = ()) -> None:
        """Fold a batch into the latest-state tables (newest reading wins per key)."""
        latest: dict[tuple[str, str], Reading] = {}
        seen: dict[str, float] = {}
        for reading in batch:
            key = (reading.device, reading.metric)
            if key not in latest or reading.ts >= latest[key].ts:
                latest[key] = reading
            seen[reading.device] = max(seen.get(reading.device, 0.0), _epoch(reading.ts))
        presence_list = list(presences)
        if not latest and not presence_list:
            return
        latest_rows = [
            {"device": d, "metric": m, "value": r.value, "unit": r.unit, "ts": _epoch(r.ts)}
            for (d, m), r in sorted(latest.items())
        ]
        try:
            with self.engine.begin() as conn:
                if latest_rows:
                    statement = upsert(self.engine, device_latest, ["device", "metric"])
                    execute_many(conn, statement, latest_rows)
                    seen_rows = [
                        {"device": d, "last_seen": ts, "online": True, "changed_at": ts}
                        for d, ts in sorted(seen.items())
                    ]
                    self._touch(conn, seen_rows)
                for presence in presence_list:
                    self._presence(conn, presence)
        except SQLAlchemyError as exc:
            raise _unavailable(self.engine, exc) from exc

    def _touch(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
        existing = {
            row.device: row
            for row in conn.execute(
                sa.select(device_presence).where(
                    device_presence.c.device.in_([r["device"] for r in rows])
                )
            )
        }
        for row in rows:
            old = existing.get(row["device"])
            if old is not None and not old.online:
                conn.execute(
                    presence_history.insert().values(
                        device=row["device"], online=True, ts=row["last_seen"]
                    )
                )
            if old is not None and old.online:
                row["changed_at"] = old.changed_at
            row["last_seen"] = max(row["last_seen"], old.last_seen if old is not None else 0.0)
        execute_many(conn, upsert(self.engine, device_presence, ["device"]), rows)

    def _presence(self, conn: sa.Connection, presence: Presence) -> None:
        ts = _epoch(presence.ts)
        old = conn.execute(
            sa.select(device_presence).where(device_presence.c.device == presence.device)
        ).first()
        if old is not None and old.online == presence.online:
            return
        row = {
            "device": presence.device,
            "last_seen": old.last_seen if old is not None else ts,
            "online": presence.online,
            "changed_at": ts,
        }
        conn.execute(upsert(self.engine, device_presence, ["device"]), [row])
        conn.execute(
            presence_history.insert().values(device=presence.device, online=presence.online, ts=ts)
        )

    def list_states(self, *, now: datetime | None = None) -> list[DeviceState]:
        now = now or datetime.now(UTC)
        stale_before = _epoch(now - timedelta(seconds=self.heartbeat_timeout_s))
        with self.engine.connect() as conn:
            presence = conn.execute(sa.select(device_presence).order_by(device_presence.c.device))
            values = conn.execute(sa.select(device_latest))
            by_device: dict[str, dict[str, tuple[float, str, datetime]]] = {}
            for row in values:
                by_device.setdefault(row.device, {})[row.metric] = (
                    row.value,
                    row.unit,
                    _from_epoch(row.ts),
                )
            return [
                DeviceState(
                    device=row.device,
                    last_seen=_from_epoch(row.last_seen),
                    online=bool(row.online) and row.last_seen >= stale_before,
                    values=by_device.get(row.device, {}),
                )
                for row in presence
            ]

    def close(self) -> None:
        self.engine.dispose()
