"""SQLAlchemy models of suppliers and contractors: qualification, certificates, contracts, reviews,
scores."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from maintenance.shared.base import Base, Money, enum_type, utcnow

__all__ = [
    "Certificate",
    "Contract",
    "QualificationStatus",
    "Supplier",
    "SupplierKind",
    "SupplierReview",
    "SupplierScore",
    "SupplierStatusChange",
]


class SupplierKind(enum.StrEnum):
    SUPPLIER = "supplier"
    CONTRACTOR = "contractor"
    BOTH = "both"


class QualificationStatus(enum.StrEnum):
    CANDIDATE = "candidate"
    QUALIFIED = "qualified"
    SUSPENDED = "suspended"
    REMOVED = "removed"


class Supplier(Base):
    """A company that supplies parts, services equipment under contract, or both."""

    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[SupplierKind] = mapped_column(enum_type(SupplierKind, "supplier_kind"))
    status: Mapped[QualificationStatus] = mapped_column(
        enum_type(QualificationStatus, "qualification_status"),
        default=QualificationStatus.CANDIDATE,
    )
    #: Trades or part families: ``["hvac", "lifts"]``.
    categories: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    contact_name: Mapped[str] = mapped_column(sa.String(120), default="")
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    #: Set when its latest scorecard fell below the review threshold; cleared by a manager.
    flagged_for_review_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SupplierStatusChange(Base):
    """One qualification transition (append-only)."""

    __tablename__ = "supplier_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    actor: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str] = mapped_column(sa.Text, default="")


class Certificate(Base):
    """A qualification document with an expiry date (F-gas licence, ISO 9001, insurance)."""

    __tablename__ = "supplier_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    number: Mapped[str] = mapped_column(sa.String(100), default="")
    issued_on: Mapped[date | None] = mapped_column()
    expires_on: Mapped[date] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contract(Base):
    """A service or supply contract: scope, period, value and its own SLA targets."""

    __tablename__ = "supplier_contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    scope: Mapped[str] = mapped_column(sa.Text, default="")
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"))
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()
    annual_value: Mapped[Decimal | None] = mapped_column(Money)
    #: Contract SLA targets in hours; override the priority defaults for the contractor's orders.
    response_target_h: Mapped[float | None] = mapped_column()
    resolution_target_h: Mapped[float | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SupplierReview(Base):
    """A manager's qualitative score (0-100) of a supplier for one period (``YYYY-MM``)."""

    __tablename__ = "supplier_reviews"
    __table_args__ = (sa.UniqueConstraint("supplier_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    period: Mapped[str] = mapped_column(sa.String(7))
    score: Mapped[float] = mapped_column()
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    reviewer: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SupplierScore(Base):
    """A computed scorecard for one period, kept so the ranking has a history."""

    __tablename__ = "supplier_scores"
    __table_args__ = (sa.UniqueConstraint("supplier_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(sa.ForeignKey("suppliers.id"), index=True)
    period: Mapped[str] = mapped_column(sa.String(7), index=True)
    score: Mapped[float] = mapped_column()
    rank: Mapped[int] = mapped_column()
    #: Each criterion's value, normalised score and weight, as computed.
    components: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
