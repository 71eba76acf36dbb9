"""What every maintenance CLI shares: JSON Lines out, the configured database, ``--now``.

Data goes to stdout as JSON Lines (one object per line) so scripts can pipe it; progress and
summaries go to stderr (:data:`err`). The database and reading store are the configured ones
(``FACILITY_DATABASE_URL``, ``FACILITY_INFLUX_URL``), as ``facility serve`` uses them.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from sqlalchemy.orm import Session

from facility.core.errors import FacilityError
from facility.core.settings import Settings
from facility.core.types import ReadingStore
from gateway.stores import open_reading_store
from maintenance.shared.db import connect, upgrade

__all__ = [
    "NowOption",
    "emit",
    "err",
    "open_database",
    "open_readings",
    "parse_now",
    "parse_weights",
]

err = Console(stderr=True)


def emit(row: dict[str, Any]) -> None:
    """Write ``row`` as one JSON line on stdout (decimals as strings, exact)."""
    sys.stdout.buffer.write(orjson.dumps(row, default=_default) + b"\n")


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def parse_weights(
    values: list[str], example: str = "--weight sla=30 --weight review=5"
) -> dict[str, float]:
    """``["sla=30", "review=5"]`` → ``{"sla": 30.0, "review": 5.0}``, or a FacilityError."""
    weights: dict[str, float] = {}
    for value in values:
        name, sep, number = value.partition("=")
        try:
            weight = float(number)
        except ValueError:
            weight = math.nan
        if not sep or not name.strip() or not math.isfinite(weight):
            raise FacilityError(f"--weight {value[:40]!r} is not NAME=NUMBER; e.g. {example}")
        weights[name.strip()] = weight
    return weights


@contextmanager
def open_database(settings: Settings) -> Iterator[Session]:
    """A session on the configured database, migrated to head first."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine, sessions = connect(settings.effective_database_url())
    try:
        upgrade(engine)
        with sessions() as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def open_readings(settings: Settings) -> Iterator[ReadingStore]:
    """The configured reading store (InfluxDB when set, else the SQL store)."""
    store: ReadingStore = open_reading_store(settings)
    try:
        yield store
    finally:
        store.close()


def parse_now(value: str | None) -> datetime:
    """``--now``: ISO 8601 (naive = UTC), or the current time when not given."""
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FacilityError(
            f"--now {value[:40]!r} is not ISO 8601; use e.g. 2026-03-01T09:00:00Z"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


NowOption = Annotated[
    str | None, typer.Option("--now", help="Pretend it is this instant (ISO 8601); default now.")
]
