"""SQLAlchemy models of an asset's life: status history, documents and labour on its orders.

The asset row itself (with its life-cycle columns) is :class:`maintenance.models.Asset`; these
tables are its history. Availability is computed from ``asset_status_changes`` (time spent
``under_repair``), so the history is append-only like the work-order audit trail.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from maintenance.models import AssetStatus, Base, _enum
from maintenance.models_service import Money, Quantity

__all__ = ["AssetDocument", "AssetStatusChange", "DocumentKind", "LabourEntry"]


def _now() -> datetime:
    return datetime.now(UTC)


class AssetStatusChange(Base):
    """One status transition of an asset: who, when, why (append-only)."""

    __tablename__ = "asset_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    ts: Mapped[datetime] = mapped_column(default=_now, index=True)
    from_status: Mapped[AssetStatus | None] = mapped_column(_enum(AssetStatus, "asset_status_from"))
    to_status: Mapped[AssetStatus] = mapped_column(_enum(AssetStatus, "asset_status_to"))
    actor: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    #: The work order that moved it (``under_repair`` while a corrective order is worked).
    work_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("work_orders.id"))


class DocumentKind(enum.StrEnum):
    MANUAL = "manual"
    CERTIFICATE = "certificate"
    DRAWING = "drawing"
    WARRANTY = "warranty"
    OTHER = "other"


class AssetDocument(Base):
    """A file kept with an asset (manual, certificate, drawing), stored like order attachments."""

    __tablename__ = "asset_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    kind: Mapped[DocumentKind] = mapped_column(_enum(DocumentKind, "asset_document_kind"))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    filename: Mapped[str] = mapped_column(sa.String(120))
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    #: Certificates (pressure vessel, lift inspection) expire.
    valid_until: Mapped[date | None] = mapped_column()
    uploaded_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=_now)


class LabourEntry(Base):
    """Time worked on an order, by a technician or a contractor's worker, at an hourly rate."""

    __tablename__ = "labour_entries"
    __table_args__ = (sa.CheckConstraint("hours > 0", name="ck_labour_entries_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(sa.ForeignKey("work_orders.id"), index=True)
    worker: Mapped[str] = mapped_column(sa.String(64))
    hours: Mapped[Decimal] = mapped_column(Quantity)
    hourly_rate: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    contractor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suppliers.id"))
    recorded_by: Mapped[str] = mapped_column(sa.String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=_now)
