"""``facility assets replacement``: the replacement plan from the shell, as JSON Lines.

The plan scores equipment from its work orders, labour and parts (see
:mod:`maintenance.insights.asset_figures`), so the command lives on the read side; the app mounts
it on the ``facility assets`` sub-app next to the register's ``import`` and ``export``. The
ranking goes to stdout, the count to stderr; the database is the configured one.
"""

from __future__ import annotations

from typing import Annotated

import typer

from facility.core.settings import load_settings
from maintenance.insights.asset_figures import WEIGHTS, replacement_plan
from maintenance.shared.cli import NowOption, emit, err, open_database, parse_now, parse_weights

__all__ = ["register_replacement_command", "replacement_command"]


def replacement_command(
    site: Annotated[str | None, typer.Option(help="Only this site's equipment.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many to list.")] = 50,
    weight: Annotated[
        list[str] | None,
        typer.Option(
            help="Weigh a component in points, NAME=NUMBER (age, repair, failures, "
            "criticality; defaults 35, 30, 20, 15; normalised together; repeatable)."
        ),
    ] = None,
    now: NowOption = None,
) -> None:
    """List equipment by replacement score (highest first) as JSON Lines.

    Example: facility assets replacement --site hq --limit 10 --weight age=70
    """
    weights = WEIGHTS.with_overrides(parse_weights(weight or [], "--weight age=70"))
    at = parse_now(now)
    with open_database(load_settings()) as session:
        plan = replacement_plan(session, now=at, site=site, limit=limit, weights=weights)
    for item in plan:
        f = item.figures
        emit(
            {
                "rank": item.rank,
                "code": item.code,
                "name": item.name,
                "site": item.site,
                "criticality": item.criticality.value,
                "status": item.status.value,
                "score": item.score,
                "components": item.components,
                "missing": item.missing,
                "age_years": f.age_years,
                "life_used_ratio": f.life_used_ratio,
                "repair_cost_12m": f.repair_cost_12m,
                "replacement_cost": f.replacement_cost,
                "failures_12m": f.failures_12m,
                "tco": f.tco,
            }
        )
    err.print(f"{len(plan)} asset(s) ranked")


def register_replacement_command(app: typer.Typer) -> None:
    """Add ``replacement`` to the ``facility assets`` sub-app."""
    app.command("replacement")(replacement_command)
