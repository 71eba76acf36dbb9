"""SQLAlchemy models of preventive maintenance (PM): plans and the occurrences they ordered.

A unique (plan, occurrence key) constraint makes a due occurrence one order however many
schedulers run."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from maintenance.shared.base import Base, enum_type, utcnow

__all__ = ["PmOccurrence", "PmPlan", "PmTriggerKind", "ScheduleMode", "TimeUnit"]


#: Money and quantities are exact decimals: a ledger summed in floats drifts.


class PmTriggerKind(enum.StrEnum):
    CALENDAR = "calendar"
    #: A cron expression (``cron``) evaluated in the site's time zone.
    CRON = "cron"
    RUNTIME = "runtime"
    METER = "meter"
    #: A rule of the rules engine (``rule``) opens the PM order instead of a corrective one.
    CONDITION = "condition"


class TimeUnit(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class ScheduleMode(enum.StrEnum):
    #: Due dates fall on the grid anchor + k * interval, whenever the last one was done.
    FIXED = "fixed"
    #: Next due = last completion + interval.
    FLOATING = "floating"


class PmPlan(Base):
    """A preventive-maintenance plan: what to service, how long it takes, and when it is due.

    One trigger per plan; a piece of equipment serviced both every 3 months and every 500 run
    hours has two plans. ``lead`` is in the trigger's own unit: days for calendar plans, run
    hours for runtime plans, counter units for meter plans.
    """

    __tablename__ = "pm_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: Asset codes the plan names; empty when ``asset_type`` selects them instead.
    asset_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    asset_type: Mapped[str | None] = mapped_column(sa.String(64))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"))
    checklist_template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("checklist_templates.id")
    )
    estimated_labour_h: Mapped[float] = mapped_column(default=0.0)
    trigger: Mapped[PmTriggerKind] = mapped_column(enum_type(PmTriggerKind, "pm_trigger_kind"))
    interval: Mapped[float] = mapped_column()
    unit: Mapped[TimeUnit | None] = mapped_column(enum_type(TimeUnit, "pm_time_unit"))
    mode: Mapped[ScheduleMode] = mapped_column(
        enum_type(ScheduleMode, "pm_schedule_mode"), default=ScheduleMode.FIXED
    )
    #: Calendar plans: the first due date as local wall time in the site's zone (naive ISO).
    anchor_local: Mapped[str | None] = mapped_column(sa.String(32))
    #: Runtime/meter plans: the device whose ``state`` or counter readings drive the plan.
    device: Mapped[str | None] = mapped_column(sa.String(200))
    metric: Mapped[str | None] = mapped_column(sa.String(64))
    #: Runtime plans: a reading vouches for the device's state for at most this long.
    max_gap_s: Mapped[float] = mapped_column(default=900.0)
    lead: Mapped[float] = mapped_column(default=0.0)
    #: Completed within this many hours after the due date still counts as on time.
    grace_h: Mapped[float] = mapped_column(default=24.0)
    #: Telemetry is counted from here (plan creation unless given).
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Cron plans: a five-field cron expression in the site's time zone.
    cron: Mapped[str | None] = mapped_column(sa.String(120))
    #: Condition plans: the rule whose firing alert opens this plan's order.
    rule: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    #: Parts each order needs, reserved when it is generated: ``[{"sku", "quantity",
    #: "storeroom"}]``.
    parts: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    #: Runtime/meter plans: usage accumulated from ``starts_at`` up to ``progress_at`` (a
    #: checkpoint, so a scheduler pass reads only telemetry newer than it).
    progress_at: Mapped[datetime | None] = mapped_column()
    progress_value: Mapped[float | None] = mapped_column()
    #: The checkpoint's carried state (last counter value, last state and its time).
    progress_state: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    active: Mapped[bool] = mapped_column(default=True)
    approved_by: Mapped[str | None] = mapped_column(sa.String(64))
    approved_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PmOccurrence(Base):
    """One due occurrence of a plan for one asset, and the order generated for it."""

    __tablename__ = "pm_occurrences"
    __table_args__ = (
        sa.UniqueConstraint("plan_id", "occurrence_key", name="uq_pm_occurrences_plan_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("pm_plans.id"), index=True)
    occurrence_key: Mapped[str] = mapped_column(sa.String(200))
    asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id"))
    due_at: Mapped[datetime] = mapped_column(index=True)
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    work_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("work_orders.id"), index=True)
