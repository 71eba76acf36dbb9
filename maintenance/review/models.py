"""SQLAlchemy models of the monthly service review: improvement actions and requester surveys.

The review's figures are computed, never stored; what people decide is."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from maintenance.shared.base import Base, enum_type, utcnow

__all__ = ["ActionStatus", "ImprovementAction", "Survey", "SurveyResponse"]


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class ImprovementAction(Base):
    """A decision from a monthly review (the "act" of plan-do-check-act), tracked to done."""

    __tablename__ = "improvement_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    #: The review month that decided it (``YYYY-MM``).
    period: Mapped[str] = mapped_column(sa.String(7), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    owner: Mapped[str] = mapped_column(sa.String(64))
    due_on: Mapped[date] = mapped_column()
    status: Mapped[ActionStatus] = mapped_column(
        enum_type(ActionStatus, "improvement_action_status"), default=ActionStatus.OPEN
    )
    outcome: Mapped[str] = mapped_column(sa.Text, default="")
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()


class Survey(Base):
    """A satisfaction survey for one site and period with configurable questions."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    #: ``[{"key": "cleanliness", "text": "...", "kind": "rating"|"text"|"choice",
    #: "choices": [...]}]``
    questions: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    opens_on: Mapped[date] = mapped_column()
    closes_on: Mapped[date] = mapped_column()
    #: Anonymous surveys store no respondent name.
    anonymous: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyResponse(Base):
    """One requester's answers; one per named respondent and survey."""

    __tablename__ = "survey_responses"
    __table_args__ = (sa.UniqueConstraint("survey_id", "respondent"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("surveys.id"), index=True)
    respondent: Mapped[str | None] = mapped_column(sa.String(64))
    answers: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
