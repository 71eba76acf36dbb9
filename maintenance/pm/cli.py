"""``facility pm``: preventive maintenance from the shell (forecast, scheduler pass)."""

from __future__ import annotations

from typing import Annotated

import typer

from facility.core.settings import load_settings
from maintenance.shared.cli import NowOption, emit, err, open_database, open_readings, parse_now

__all__ = ["pm_app"]

pm_app = typer.Typer(help="Preventive maintenance: forecast and scheduler.", no_args_is_help=True)


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
    at = parse_now(now)
    with open_database(settings) as session, open_readings(settings) as readings:
        items = forecast(session, now=at, weeks=weeks, readings=readings)
    for item in items:
        emit(
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
    at = parse_now(now)
    with open_database(settings) as session, open_readings(settings) as readings:
        made = run_pm_scheduler(session, now=at, readings=readings)
    for order in made:
        emit(
            {
                "plan_id": order.plan_id,
                "occurrence": order.occurrence_key,
                "due_at": order.due_at.isoformat(),
                "work_order_id": order.work_order_id,
            }
        )
    err.print(f"[green]✓[/] {len(made)} PM work order(s) created")
