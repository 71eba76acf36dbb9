"""``facility suppliers scorecards``: compute and rank the supplier scorecards from the shell.

The command belongs to the read side (:mod:`maintenance.insights.scorecards`) but lives under
``facility suppliers`` with the directory's commands: :func:`register_scorecard_commands` adds
it to that sub-app. Data goes to stdout as JSON Lines; the table and summary go to stderr, so
``facility suppliers scorecards --period 2026-10 > ranking.jsonl`` keeps only the data.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from facility.core.settings import load_settings
from maintenance.insights.scorecards import compute_scorecards
from maintenance.shared.cli import NowOption, emit, err, open_database, parse_now, parse_weights

__all__ = ["register_scorecard_commands", "scorecards_command"]


def scorecards_command(
    period: Annotated[str, typer.Option(help="The month to score, YYYY-MM.")],
    weight: Annotated[
        list[str] | None,
        typer.Option(help="Override a criterion's weight, NAME=NUMBER (repeatable)."),
    ] = None,
    threshold: Annotated[
        float, typer.Option(min=0, max=100, help="Flag companies scoring below this.")
    ] = 60.0,
    now: NowOption = None,
) -> None:
    """Compute, rank and store every company's scorecard for a month; JSON Lines, best first.

    Example: facility suppliers scorecards --period 2026-10 --weight sla=40
    """
    weights = parse_weights(weight or [])
    with open_database(load_settings()) as session:
        cards = compute_scorecards(
            session, period=period, now=parse_now(now), weights=weights, threshold=threshold
        )
    table = Table(title=f"Scorecards {period}")
    for column in ("rank", "code", "name", "score", "flagged"):
        table.add_column(column, justify="right" if column in ("rank", "score") else "left")
    for card in cards:
        emit(
            {
                "period": card.period,
                "rank": card.rank,
                "supplier": card.code,
                "name": card.name,
                "score": card.score,
                "flagged": card.flagged,
                "components": card.components,
            }
        )
        table.add_row(
            str(card.rank), card.code, card.name, f"{card.score:.2f}", "yes" if card.flagged else ""
        )
    err.print(table)
    flagged = sum(1 for c in cards if c.flagged)
    err.print(f"{len(cards)} compan(ies) scored, {flagged} flagged for review (below {threshold})")


def register_scorecard_commands(app: typer.Typer) -> None:
    """Add the scorecard commands to the ``facility suppliers`` sub-app."""
    app.command("scorecards")(scorecards_command)
