"""``facility suppliers``: the supplier and contractor directory from the shell.

Data goes to stdout as JSON Lines; tables and summaries go to stderr, so
``facility suppliers scorecards --period 2026-10 > ranking.jsonl`` keeps only the data.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from facility.core.settings import load_settings
from maintenance.pm.cli import NowOption, _database, _emit, _now, err, parse_weights
from maintenance.suppliers.models import QualificationStatus, SupplierKind

__all__ = ["suppliers_app"]

suppliers_app = typer.Typer(
    help="Suppliers and contractors: scorecards, expiring certificates.", no_args_is_help=True
)


@suppliers_app.command("scorecards")
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
    from maintenance.insights.scorecards import compute_scorecards

    weights = parse_weights(weight or [])
    with _database(load_settings()) as session:
        cards = compute_scorecards(
            session, period=period, now=_now(now), weights=weights, threshold=threshold
        )
    table = Table(title=f"Scorecards {period}")
    for column in ("rank", "code", "name", "score", "flagged"):
        table.add_column(column, justify="right" if column in ("rank", "score") else "left")
    for card in cards:
        _emit(
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


@suppliers_app.command("expiring")
def expiring_command(
    days: Annotated[int, typer.Option(min=0, max=3650, help="The warning window in days.")] = 30,
    notify: Annotated[
        bool, typer.Option(help="Also put a warning in the notification outbox (once each).")
    ] = False,
    now: NowOption = None,
) -> None:
    """List certificates expiring within N days (and expired ones) as JSON Lines.

    Example: facility suppliers expiring --days 30 --notify
    """
    from maintenance.suppliers.service import expiring_certificates, warn_expiring_certificates

    at = _now(now)
    with _database(load_settings()) as session:
        alerts = expiring_certificates(session, within_days=days, now=at)
        warned: set[int] = set()
        if notify:
            messages = warn_expiring_certificates(session, within_days=days, now=at)
            warned = {int(m.payload["certificate"]["id"]) for m in messages}
    for alert in alerts:
        cert = alert.certificate
        _emit(
            {
                "supplier": alert.supplier_code,
                "certificate": cert.name,
                "number": cert.number,
                "expires_on": cert.expires_on.isoformat(),
                "days_left": alert.days_left,
                "expired": alert.expired,
                "warned_now": cert.id in warned,
            }
        )
    suffix = f", {len(warned)} new warning(s) in the outbox" if notify else ""
    err.print(f"{len(alerts)} certificate(s) expire within {days} day(s) or have expired{suffix}")


@suppliers_app.command("list")
def list_command(
    status: Annotated[QualificationStatus | None, typer.Option(help="Only this status.")] = None,
    kind: Annotated[SupplierKind | None, typer.Option(help="Only this kind.")] = None,
    flagged: Annotated[
        bool, typer.Option("--flagged", help="Only companies flagged for review.")
    ] = False,
) -> None:
    """List the directory as JSON Lines, by code.

    Example: facility suppliers list --status qualified --kind contractor
    """
    from maintenance.suppliers.service import list_suppliers

    with _database(load_settings()) as session:
        rows, total = list_suppliers(
            session, status=status, kind=kind, flagged=True if flagged else None, limit=100_000
        )
    for supplier in rows:
        _emit(
            {
                "code": supplier.code,
                "name": supplier.name,
                "kind": supplier.kind.value,
                "status": supplier.status.value,
                "categories": supplier.categories,
                "flagged_for_review_at": supplier.flagged_for_review_at.isoformat()
                if supplier.flagged_for_review_at
                else None,
            }
        )
    err.print(f"{total} supplier(s)")
