"""``facility pm`` and ``facility stock``: preventive maintenance and stock from the shell.

Data goes to stdout as JSON Lines (one object per line) so scripts can pipe it; progress and
summaries go to stderr. The database and reading store are the configured ones
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
from facility.core.settings import Settings, load_settings
from facility.core.types import ReadingStore

__all__ = ["pm_app", "stock_app"]

err = Console(stderr=True)
pm_app = typer.Typer(help="Preventive maintenance: forecast and scheduler.", no_args_is_help=True)
stock_app = typer.Typer(help="Spare parts and supplies: stock reports.", no_args_is_help=True)


def _emit(row: dict[str, Any]) -> None:
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
def _database(settings: Settings) -> Iterator[Session]:
    from maintenance.shared.db import connect, upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine, sessions = connect(settings.effective_database_url())
    try:
        upgrade(engine)
        with sessions() as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def _readings(settings: Settings) -> Iterator[ReadingStore]:
    """The configured reading store (InfluxDB when set, else the SQL store)."""
    store: ReadingStore
    if settings.influx_url:
        from gateway.stores.influx import InfluxOptions, InfluxReadingStore

        token = settings.influx_token.get_secret_value() if settings.influx_token else None
        store = InfluxReadingStore(
            InfluxOptions(
                url=settings.influx_url,
                token=token,
                org=settings.influx_org,
                bucket=settings.influx_bucket,
                query_url=settings.influx_query_url,
                database=settings.influx_database,
            )
        )
    else:
        from gateway.stores.sql import SqlReadingStore, make_engine

        store = SqlReadingStore(
            make_engine(settings.database_url or settings.sqlite_url("readings.db"))
        )
    try:
        yield store
    finally:
        store.close()


def _now(value: str | None) -> datetime:
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


@pm_app.command("forecast")
def pm_forecast(
    weeks: Annotated[int, typer.Option(min=1, max=104, help="How many weeks ahead.")] = 8,
    now: NowOption = None,
) -> None:
    """List PM due in the next N weeks as JSON Lines (telemetry plans: estimated dates).

    Example: facility pm forecast --weeks 8
    """
    from maintenance.pm.service import forecast

    settings = load_settings()
    at = _now(now)
    with _database(settings) as session, _readings(settings) as readings:
        items = forecast(session, now=at, weeks=weeks, readings=readings)
    for item in items:
        _emit(
            {
                "plan_id": item.plan_id,
                "plan": item.plan,
                "trigger": item.trigger.value,
                "asset": item.asset,
                "due_at": item.due_at.isoformat(),
                "estimated": item.estimated,
                "estimated_labour_h": item.estimated_labour_h,
                "work_order_id": item.work_order_id,
            }
        )
    err.print(f"{len(items)} PM occurrence(s) due in the next {weeks} week(s)")


@pm_app.command("run")
def pm_run(now: NowOption = None) -> None:
    """Run one scheduler pass: order every PM whose lead window has opened (never twice).

    Example: facility pm run
    """
    from maintenance.pm.service import run_pm_scheduler

    settings = load_settings()
    at = _now(now)
    with _database(settings) as session, _readings(settings) as readings:
        made = run_pm_scheduler(session, now=at, readings=readings)
    for order in made:
        _emit(
            {
                "plan_id": order.plan_id,
                "occurrence": order.occurrence_key,
                "due_at": order.due_at.isoformat(),
                "work_order_id": order.work_order_id,
            }
        )
    err.print(f"[green]✓[/] {len(made)} PM work order(s) created")


@stock_app.command("low")
def stock_low() -> None:
    """List items at or below their reorder point, with a suggested order, as JSON Lines.

    Example: facility stock low
    """
    from maintenance.inventory.service import low_stock

    with _database(load_settings()) as session:
        rows = low_stock(session)
    for row in rows:
        _emit(
            {
                "sku": row.sku,
                "name": row.name,
                "unit": row.unit,
                "on_hand": row.on_hand,
                "reorder_point": row.reorder_point,
                "suggested_qty": row.suggested_qty,
                "estimated_cost": row.estimated_cost,
            }
        )
    err.print(f"{len(rows)} item(s) to reorder")


@stock_app.command("reorder")
def stock_reorder() -> None:
    """List what to buy, one JSON line per supplier with its lines (reservations counted).

    Example: facility stock reorder
    """
    from maintenance.inventory.service import reorder_suggestions

    with _database(load_settings()) as session:
        groups = reorder_suggestions(session)
    for group in groups:
        _emit(
            {
                "supplier_id": group.supplier_id,
                "supplier_code": group.supplier_code,
                "supplier_name": group.supplier_name,
                "lines": [
                    {
                        "sku": line.sku,
                        "name": line.name,
                        "unit": line.unit,
                        "on_hand": line.on_hand,
                        "reserved": line.reserved,
                        "available": line.available,
                        "reorder_point": line.reorder_point,
                        "max_stock": line.max_stock,
                        "suggested_qty": line.suggested_qty,
                        "unit_cost": line.unit_cost,
                        "line_value": line.line_value,
                    }
                    for line in group.lines
                ],
                "total_value": group.total_value,
            }
        )
    lines = sum(len(group.lines) for group in groups)
    err.print(f"{lines} item(s) to reorder from {len(groups)} supplier group(s)")
