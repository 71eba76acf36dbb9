"""``facility suppliers``: the supplier and contractor directory from the shell.

Data goes to stdout as JSON Lines; tables and summaries go to stderr, so
``facility suppliers scorecards --period 2026-10 > ranking.jsonl`` keeps only the data. The
``scorecards`` command is :mod:`maintenance.insights.cli`, added to this sub-app by
:func:`maintenance.insights.cli.register_scorecard_commands`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from facility.core.settings import load_settings
from maintenance.shared.cli import NowOption, emit, err, open_database, parse_now
from maintenance.suppliers.models import QualificationStatus, SupplierKind

__all__ = ["suppliers_app"]

suppliers_app = typer.Typer(
    help="Suppliers and contractors: scorecards, expiring certificates.", no_args_is_help=True
)


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

    at = parse_now(now)
    with open_database(load_settings()) as session:
        alerts = expiring_certificates(session, within_days=days, now=at)
        warned: set[int] = set()
        if notify:
            messages = warn_expiring_certificates(session, within_days=days, now=at)
            warned = {int(m.payload["certificate"]["id"]) for m in messages}
    for alert in alerts:
        cert = alert.certificate
        emit(
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

    with open_database(load_settings()) as session:
        rows, total = list_suppliers(
            session, status=status, kind=kind, flagged=True if flagged else None, limit=100_000
        )
    for supplier in rows:
        emit(
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
