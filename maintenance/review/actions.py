"""Improvement actions: the "act" of plan-do-check-act, with an owner and a due date.

A review that finds a problem without a named person and a date changes nothing; each action
is therefore recorded against the review month that decided it and shown again in the next
month's review (done on time, done late, still open, dropped) until it is closed.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from facility.core.errors import Invalid, NotFound
from maintenance.review.models import ActionStatus, ImprovementAction
from maintenance.review.service import parse_month
from maintenance.sites.models import Site

__all__ = [
    "ActionError",
    "ActionNotFound",
    "create_action",
    "get_action",
    "list_actions",
    "update_action",
]


class ActionError(Invalid):
    """An action is malformed; the message names the field and what to send."""


class ActionNotFound(ActionError, NotFound):
    """No action with that id."""


def _text(value: str, name: str, limit: int, *, required: bool) -> str:
    text = value.strip()
    if required and not text:
        raise ActionError(f"{name} is empty; write one")
    if len(text) > limit:
        raise ActionError(f"{name} is {len(text)} characters; keep it to {limit}")
    if "\x00" in text:
        raise ActionError(f"{name} contains a NUL character; remove it")
    return text


def _site_id(session: Session, code: str | None) -> int | None:
    if code is None:
        return None
    site_id = session.scalar(sa.select(Site.id).where(Site.code == code))
    if site_id is None:
        raise ActionError(f"site {code[:64]!r} does not exist; create it or check the code")
    return site_id


def create_action(
    session: Session,
    *,
    site: str | None,
    period: str,
    title: str,
    owner: str,
    due_on: date,
    actor: str,
    now: datetime,
    description: str = "",
) -> ImprovementAction:
    """Record an action decided in the review of ``period`` (``YYYY-MM``)."""
    parse_month(period)
    action = ImprovementAction(
        site_id=_site_id(session, site),
        period=period,
        title=_text(title, "title", 200, required=True),
        description=_text(description, "description", 5000, required=False),
        owner=_text(owner, "owner", 64, required=True),
        due_on=due_on,
        status=ActionStatus.OPEN,
        created_by=actor,
        created_at=now,
    )
    session.add(action)
    session.commit()
    return action


def get_action(session: Session, *, action_id: int) -> ImprovementAction:
    action = session.get(ImprovementAction, action_id)
    if action is None:
        raise ActionNotFound(f"improvement action {action_id} does not exist")
    return action


def update_action(
    session: Session,
    *,
    action_id: int,
    now: datetime,
    title: str | None = None,
    description: str | None = None,
    owner: str | None = None,
    due_on: date | None = None,
    status: ActionStatus | None = None,
    outcome: str | None = None,
) -> ImprovementAction:
    """Change what was given; closing (done/dropped) stamps ``closed_at``, reopening clears it.

    ``closed_at`` is what the next review compares with ``due_on`` to say "on time" or "late",
    so it is set by the server, never sent by the client.
    """
    action = get_action(session, action_id=action_id)
    if title is not None:
        action.title = _text(title, "title", 200, required=True)
    if description is not None:
        action.description = _text(description, "description", 5000, required=False)
    if owner is not None:
        action.owner = _text(owner, "owner", 64, required=True)
    if due_on is not None:
        action.due_on = due_on
    if outcome is not None:
        action.outcome = _text(outcome, "outcome", 5000, required=False)
    if status is not None and status is not action.status:
        action.status = status
        action.closed_at = None if status is ActionStatus.OPEN else now
    session.commit()
    return action


def list_actions(
    session: Session,
    *,
    site: str | None = None,
    period: str | None = None,
    status: ActionStatus | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[ImprovementAction], int]:
    query = sa.select(ImprovementAction)
    if site is not None:
        query = query.join(Site, Site.id == ImprovementAction.site_id).where(Site.code == site)
    if period is not None:
        parse_month(period)
        query = query.where(ImprovementAction.period == period)
    if status is not None:
        query = query.where(ImprovementAction.status == status)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(ImprovementAction.due_on, ImprovementAction.id).limit(limit).offset(offset)
    )
    return list(items), total
