"""Standard operating procedures: checklist templates that new orders copy their steps from."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from facility.core.errors import Conflict, WorkOrderError
from maintenance.work_orders.models import ChecklistTemplate

__all__ = ["ITEM_KINDS", "create_template", "list_templates"]

ITEM_KINDS = ("pass_fail", "number", "text", "photo")


class ChecklistExists(WorkOrderError, Conflict):
    """A checklist template with that name exists already."""


def create_template(
    session: Session,
    *,
    name: str,
    items: list[dict[str, Any]],
    order_type: str | None = None,
    asset_type: str | None = None,
) -> ChecklistTemplate:
    """Store a template; orders created afterwards that match it get its items."""
    for item in items:
        if item.get("kind") not in ITEM_KINDS:
            raise WorkOrderError(f"item kind must be one of {', '.join(ITEM_KINDS)}")
        low, high = item.get("min"), item.get("max")
        if low is not None and high is not None and low > high:
            raise WorkOrderError(f"item {item.get('label')!r}: min {low} is above max {high}")
    template = ChecklistTemplate(
        name=name, order_type=order_type, asset_type=asset_type, items=items
    )
    try:
        with session.begin_nested():
            session.add(template)
    except IntegrityError as exc:
        raise ChecklistExists(f"a checklist named {name[:80]!r} exists already") from exc
    session.commit()
    return template


def list_templates(session: Session) -> list[ChecklistTemplate]:
    return list(session.scalars(sa.select(ChecklistTemplate).order_by(ChecklistTemplate.name)))
