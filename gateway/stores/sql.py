"""The SQL reading store and device-state store (SQLite by default, PostgreSQL in production).

This is the embedded stand-in for a time-series database, so it creates its own tables on open
(as InfluxDB creates measurements) instead of going through the work-order Alembic migrations.
Timestamps are stored as float epoch seconds: portable across SQLite and PostgreSQL, cheap to
index, and exact to the microsecond for the next 200 years.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from facility.core.errors import ServiceUnavailable
from facility.core.types import DeviceState, Presence, Reading, ReadingPage

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


def _create_private(database: str | None) -> None:
    """Create a new SQLite file readable by its owner only (0600), as SQLite would not.

    The files hold readings, users' password hashes and API-key digests; SQLite creates them
    with the process umask (usually 0644, world-readable), and its ``-wal``/``-shm`` files take
    the database file's mode. An existing file keeps the mode its owner gave it.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return  # a missing folder stays SQLite's error to report, with its usual message
    # FileExistsError: another process was first, theirs is as good; any other OSError (a
    # read-only folder) is left for SQLite to report when it opens the file
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


#: SQLite errors after which a pooled connection is useless even once the disk is back: a
#: connection opened while the file was read-only stays read-only for its whole life
_SQLITE_BROKEN = ("readonly database", "disk i/o error", "unable to open database file")


def make_engine(url: str) -> Engine:
    """An engine tuned for our use: WAL and a busy timeout on SQLite, pre-ping elsewhere.

    Both kinds recover from a storage fault without a restart. PostgreSQL: ``pool_pre_ping``
    replaces connections the server dropped, and ``pool_recycle`` those a proxy may have cut.
    SQLite: see :func:`_recover_sqlite_connections`.
    """
    if url.startswith("sqlite"):
        database = sa.engine.make_url(url).database
        _create_private(database)
        # hide_parameters: an error names the statement, never its values (key hashes, emails)
        engine = sa.create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        _recover_sqlite_connections(engine, database)
        return engine
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=5,
        pool_recycle=1800,
        hide_parameters=True,
    )


def _writable(database: str | None) -> bool:
    """Whether SQLite would open ``database`` read-write now (memory databases always)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return True
    path = Path(database)
    target = path if path.exists() else path.parent
    return os.access(target, os.W_OK)


def _recover_sqlite_connections(engine: Engine, database: str | None) -> None:
    """Never keep a SQLite connection that a storage fault left read-only.

    SQLite opens a file it cannot write (read-only mount, ``chattr +i``, wrong owner) read-only
    without saying so, and such a connection never becomes writable: pooled, it answered
    "attempt to write a readonly database" long after the disk was fixed. Two guards:

    * a connection opened while the file was not writable is marked, and when it is checked
      out after the file became writable again it is replaced (``DisconnectionError`` makes
      the pool connect afresh), so reads keep working during the fault and writes work after;
    * an error that leaves a connection useless (read-only, disk I/O error, cannot open) is
      treated as a disconnect: SQLAlchemy drops that connection and every pooled one opened
      before it. "database is locked" and "disk is full" are not: those connections recover
      by themselves once the lock or the space is back.
    """

    @event.listens_for(engine, "connect")
    def _mark_read_only(_dbapi_conn: Any, record: Any) -> None:
        if not _writable(database):
            record.info["opened_read_only"] = True

    @event.listens_for(engine, "checkout")
    def _replace_read_only(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if record.info.get("opened_read_only") and _writable(database):
            log.info("replacing a SQLite connection opened while %s was read-only", database)
            raise sa.exc.DisconnectionError("opened while the database file was read-only")

    @event.listens_for(engine, "handle_error")
    def _drop_broken(context: Any) -> None:
        message = str(context.original_exception).lower()
        if isinstance(context.original_exception, sqlite3.Error) and any(
            marker in message for marker in _SQLITE_BROKEN
        ):
            context.is_disconnect = True


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


def execute_rows(
    conn: sa.Connection,
    stmt: sa.Executable,
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
) -> None:
    """:func:`execute_many` for rows already built as tuples in ``columns`` order.

    The ingest path builds its rows straight in the order SQLite's compiled statement wants,
    which saves a dict and a tuple per row; drivers with named parameters (psycopg) get dicts.
    """
    if not rows:
        return
    sql, order = _compiled_for(stmt, conn.dialect, columns)
    if order is None:
        conn.exec_driver_sql(sql, [dict(zip(columns, row, strict=True)) for row in rows])
    elif order == columns:
        conn.exec_driver_sql(sql, rows)
    else:  # e.g. a parameter used twice: pick the columns in the statement's order
        pick = itemgetter(*[columns.index(key) for key in order])
        if len(order) == 1:
            conn.exec_driver_sql(sql, [(pick(row),) for row in rows])
        else:
            conn.exec_driver_sql(sql, list(map(pick, rows)))


def _epochs(readings: Iterable[Reading]) -> list[float]:
    """Epoch seconds of each reading's ts; consecutive readings of one message share a ts
    object, so it is converted once per message rather than once per reading."""
    out: list[float] = []
    last: datetime | None = None
    epoch = 0.0
    for reading in readings:
        ts = reading.ts
        if ts is not last:
            last, epoch = ts, ts.timestamp()
        out.append(epoch)
    return out


#: The most rows one multi-row ``INSERT`` carries on SQLite. The driver releases the GIL around
#: every statement step, and under load getting it back means waiting for paho's network thread
#: to let go of it: with one row per step (executemany) those waits made the SQLite writes take
#: seven times their own time in bench_ingest. A batch is written in power-of-two chunks
#: (512, 256, ..., 1 rows), a handful of steps per batch and a handful of cached statements.
_MAX_CHUNK_ROWS = 512
#: SQLite's limit on variables per statement (32,766 since 3.32; 999 before).
_SQLITE_MAX_VARIABLES = 32_766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999
#: Devices per ``IN (...)`` look-up.
_IN_CHUNK = 5_000


def _dialect_insert(dialect: str, table: sa.Table) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)
    raise ValueError(f"the SQL stores support SQLite and PostgreSQL, not {dialect}")


def _on_conflict(dialect: str, kind: str, stmt: Any, keys: tuple[str, ...]) -> sa.Executable:
    """``ignore``: keep the stored row; ``upsert``: overwrite it; ``touch``: a device seen now
    (``last_seen`` only moves forward, ``changed_at`` is kept while it stays online)."""
    table: sa.Table = stmt.table
    if kind == "ignore":
        return stmt.on_conflict_do_nothing(index_elements=list(keys))  # type: ignore[no-any-return]
    if kind == "upsert":
        updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=updates)  # type: ignore[no-any-return]
    if kind == "touch":
        # SQLite's max() of two arguments is the scalar maximum; PostgreSQL calls it greatest()
        newest = sa.func.greatest if dialect == "postgresql" else sa.func.max
        return stmt.on_conflict_do_update(  # type: ignore[no-any-return]
            index_elements=list(keys),
            set_={
                "last_seen": newest(table.c.last_seen, stmt.excluded.last_seen),
                "online": sa.true(),
                "changed_at": sa.case(
                    (table.c.online, table.c.changed_at), else_=stmt.excluded.changed_at
                ),
            },
        )
    raise ValueError(f"unknown conflict rule {kind!r}")


@lru_cache(maxsize=16)
def _insert_statement(
    dialect: str, kind: str, table: sa.Table, keys: tuple[str, ...]
) -> sa.Executable:
    """An ``INSERT ... ON CONFLICT`` of ``kind`` for executemany (parameters named by column)."""
    stmt = _dialect_insert(dialect, table)
    if kind == "touch":
        stmt = stmt.values(online=sa.true())
    return _on_conflict(dialect, kind, stmt, keys)


@lru_cache(maxsize=64)
def _rows_sql(
    dialect: sa.Dialect,
    kind: str,
    table: sa.Table,
    keys: tuple[str, ...],
    columns: tuple[str, ...],
    rows: int,
) -> str | None:
    """The one-row statement's SQL with its ``VALUES`` group repeated ``rows`` times.

    Parameters are then the rows' ``columns`` in row-major order. Built from the compiled
    one-row SQL rather than compiled again (a 512-row compile takes SQLAlchemy a tenth of a
    second); ``None`` when that SQL is not of the expected positional shape.
    """
    sql, order = _compiled_for(_insert_statement(dialect.name, kind, table, keys), dialect, columns)
    head, values, tail = sql.partition(" VALUES ")
    close = tail.find(")")
    group = tail[: close + 1]
    if order != columns or not values or not group.startswith("(") or "(" in group[1:]:
        return None
    if group.count("?") != len(columns):
        return None
    return head + values + ", ".join([group] * rows) + tail[close + 1 :]


def write_rows(
    conn: sa.Connection,
    kind: str,
    table: sa.Table,
    keys: tuple[str, ...],
    columns: tuple[str, ...],
    rows: list[tuple[Any, ...]],
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) with the conflict rule ``kind``.

    On SQLite the rows go as multi-row ``VALUES`` in power-of-two chunks (see
    ``_MAX_CHUNK_ROWS``); on PostgreSQL, and if the SQL is not of the expected shape, as
    executemany. Rows are applied in order either way, so a key repeated within a batch ends
    as it would row by row.
    """
    if not rows:
        return
    dialect = conn.dialect
    if dialect.paramstyle == "qmark":
        size = _MAX_CHUNK_ROWS
        while size * len(columns) > _SQLITE_MAX_VARIABLES:
            size //= 2
        start = 0
        while size > 1 and start < len(rows):
            count = (len(rows) - start) // size
            if count:
                sql = _rows_sql(dialect, kind, table, keys, columns, size)
                if sql is None:
                    break
                end = start + count * size
                conn.exec_driver_sql(
                    sql,
                    [
                        tuple(chain.from_iterable(rows[i : i + size]))
                        for i in range(start, end, size)
                    ],
                )
                start = end
            size //= 2
        rows = rows[start:]
    execute_rows(conn, _insert_statement(dialect.name, kind, table, keys), columns, rows)


_READING_COLUMNS = ("device", "metric", "ts", "value", "unit", "quality")
_READING_KEYS = ("device", "metric", "ts")
_LATEST_COLUMNS = ("device", "metric", "value", "unit", "ts")
_LATEST_KEYS = ("device", "metric")
_TOUCH_COLUMNS = ("device", "last_seen", "changed_at")


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
        _insert_statement(engine.dialect.name, "ignore", readings, _READING_KEYS)  # dialect ok?

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
            (r.device, r.metric, ts, r.value, r.unit, r.quality)
            for r, ts in zip(batch, _epochs(batch), strict=True)
        ]
        try:
            with self.engine.begin() as conn:
                write_rows(conn, "ignore", readings, _READING_KEYS, _READING_COLUMNS, rows)
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
        for reading in batch:
            key = (reading.device, reading.metric)
            held = latest.get(key)
            if held is None or reading.ts >= held.ts:
                latest[key] = reading
        presence_list = list(presences)
        if not latest and not presence_list:
            return
        # sorted, so that concurrent writers (several gateway workers) lock rows in one order
        keys = sorted(latest)
        newest = [latest[key] for key in keys]
        latest_rows: list[tuple[Any, ...]] = []
        seen: dict[str, float] = {}  # a device's newest time is the newest of its metrics'
        for (device, metric), reading, epoch in zip(keys, newest, _epochs(newest), strict=True):
            latest_rows.append((device, metric, reading.value, reading.unit, epoch))
            seen[device] = max(seen.get(device, 0.0), epoch)
        try:
            with self.engine.begin() as conn:
                if latest_rows:
                    write_rows(
                        conn, "upsert", device_latest, _LATEST_KEYS, _LATEST_COLUMNS, latest_rows
                    )
                    self._touch(conn, sorted(seen.items()))
                for presence in presence_list:
                    self._presence(conn, presence)
        except SQLAlchemyError as exc:
            raise _unavailable(self.engine, exc) from exc

    def _touch(self, conn: sa.Connection, rows: list[tuple[str, float]]) -> None:
        """Mark devices seen at (device, epoch): online, ``last_seen`` only moves forward,
        ``changed_at`` is kept while the device stays online, and a device stored offline
        gets an "online" line in its presence history.

        Only the devices stored offline are read back (usually none); the rest is one upsert
        whose conflict rule does the comparisons in the database.
        """
        offline: set[str] = set()
        for begin in range(0, len(rows), _IN_CHUNK):
            devices = [device for device, _seen in rows[begin : begin + _IN_CHUNK]]
            offline.update(
                conn.execute(
                    sa.select(device_presence.c.device).where(
                        device_presence.c.device.in_(devices), sa.not_(device_presence.c.online)
                    )
                ).scalars()
            )
        back = [(device, seen) for device, seen in rows if device in offline]
        if back:
            conn.execute(
                presence_history.insert(),
                [{"device": device, "online": True, "ts": seen} for device, seen in back],
            )
        write_rows(
            conn,
            "touch",
            device_presence,
            ("device",),
            _TOUCH_COLUMNS,
            [(device, seen, seen) for device, seen in rows],
        )

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
