"""``facility stock``: stock reports from the shell (what is low, what to reorder)."""

from __future__ import annotations

import typer

from facility.core.settings import load_settings
from maintenance.shared.cli import emit, err, open_database

__all__ = ["stock_app"]

stock_app = typer.Typer(help="Spare parts and supplies: stock reports.", no_args_is_help=True)


@stock_app.command("low")
def stock_low() -> None:
    """List items at or below their reorder point, with a suggested order, as JSON Lines.

    Example: facility stock low
    """
    from maintenance.inventory.service import low_stock

    with open_database(load_settings()) as session:
        rows = low_stock(session)
    for row in rows:
        emit(
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

    with open_database(load_settings()) as session:
        groups = reorder_suggestions(session)
    for group in groups:
        emit(
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
