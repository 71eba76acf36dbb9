"""CSV export of work orders, safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is a formula to Excel
and LibreOffice (CSV injection, OWASP): a requester could type ``=HYPERLINK(...)`` as a title.
Such cells get a leading apostrophe, which spreadsheets show as text
(:func:`maintenance.shared.csv_cells.neutralise`, which the asset register's export uses too).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from maintenance.shared.csv_cells import neutralise
from maintenance.work_orders.models import WorkOrder

__all__ = ["COLUMNS", "rows_as_csv"]

COLUMNS = (
    "id",
    "title",
    "type",
    "status",
    "priority",
    "source",
    "asset",
    "location",
    "assignee",
    "team",
    "created_by",
    "created_at",
    "responded_at",
    "resolved_at",
    "verified_at",
    "closed_at",
    "response_due_at",
    "resolution_due_at",
    "response_breached",
    "resolution_breached",
    "reopen_count",
    "rating",
)


def _row(order: WorkOrder) -> list[str]:
    values: list[object] = [
        order.id,
        order.title,
        order.order_type.value,
        order.status.value,
        order.priority.value,
        order.source.value,
        order.asset.code if order.asset else "",
        order.location,
        order.assignee,
        order.team,
        order.created_by,
        order.created_at,
        order.responded_at,
        order.resolved_at,
        order.verified_at,
        order.closed_at,
        order.response_due_at,
        order.resolution_due_at,
        "yes" if order.response_breached_at else "no",
        "yes" if order.resolution_breached_at else "no",
        order.reopen_count,
        order.rating,
    ]
    return [neutralise(v) for v in values]


def rows_as_csv(orders: Iterable[WorkOrder]) -> Iterator[str]:
    """The header, then one CSV line per order (streamable)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for order in orders:
        writer.writerow(_row(order))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue()
