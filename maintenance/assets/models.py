"""SQLAlchemy models of the asset register: equipment and places, the sensors on them, status
history, documents."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from maintenance.shared.base import Base, enum_type, utcnow

if TYPE_CHECKING:
    from maintenance.sites.models import Site

__all__ = [
    "Asset",
    "AssetDocument",
    "AssetFeed",
    "AssetLevel",
    "AssetStatus",
    "AssetStatusChange",
    "Criticality",
    "Device",
    "DocumentKind",
]


class AssetStatus(enum.StrEnum):
    """Where an asset is in its life; transitions are guarded in ``assets.lifecycle``."""

    PLANNED = "planned"
    IN_SERVICE = "in_service"
    UNDER_REPAIR = "under_repair"
    STANDBY = "standby"
    DECOMMISSIONED = "decommissioned"


class AssetLevel(enum.StrEnum):
    """The node kinds of the site → building → floor → zone → equipment tree."""

    BUILDING = "building"
    FLOOR = "floor"
    ZONE = "zone"
    EQUIPMENT = "equipment"


class Criticality(enum.StrEnum):
    """A: failure stops the business or is unsafe; B: degrades it; C: an inconvenience."""

    A = "A"
    B = "B"
    C = "C"


class Asset(Base):
    """A piece of equipment or a space that can need maintenance (AHU-1, Room 101)."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(200), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    asset_type: Mapped[str] = mapped_column(sa.String(64), default="unknown")
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The tree: a building, floor or zone is an asset too, so one table holds the hierarchy
    # and a piece of equipment's parent is the zone it stands in.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    level: Mapped[AssetLevel] = mapped_column(
        enum_type(AssetLevel, "asset_level"),
        default=AssetLevel.EQUIPMENT,
        server_default="equipment",
    )
    category: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    manufacturer: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    model: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    serial_number: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    installed_on: Mapped[date | None] = mapped_column()
    commissioned_on: Mapped[date | None] = mapped_column()
    warranty_end: Mapped[date | None] = mapped_column()
    expected_life_years: Mapped[float | None] = mapped_column()
    purchase_cost: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    #: What a like-for-like replacement costs today (the denominator of the repair-cost ratio).
    replacement_cost: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    criticality: Mapped[Criticality] = mapped_column(
        enum_type(Criticality, "asset_criticality"), default=Criticality.C, server_default="C"
    )
    #: Assets that existed before life-cycle tracking (created by rules) are in service.
    status: Mapped[AssetStatus] = mapped_column(
        enum_type(AssetStatus, "asset_status"),
        default=AssetStatus.IN_SERVICE,
        server_default="in_service",
    )
    status_since: Mapped[datetime | None] = mapped_column()

    site: Mapped[Site | None] = relationship()
    devices: Mapped[list[Device]] = relationship(back_populates="asset")


class Device(Base):
    """A sensor or controller, identified as its source names it, linked to an asset."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(64), default="unknown")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    asset: Mapped[Asset | None] = relationship(back_populates="devices")


class AssetFeed(Base):
    """One ``feeds`` relation: the upstream asset supplies air, water or power to the other.

    Brick's ``brick:feeds`` (an AHU feeds its VAV boxes, a chiller its AHUs' coils). Fault
    detection uses it to suppress a downstream symptom while the upstream cause is being worked
    on: a VAV box that cannot hold its temperature because its AHU's supply air is warm needs
    no second visit.
    """

    __tablename__ = "asset_feeds"
    __table_args__ = (sa.UniqueConstraint("upstream_id", "downstream_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    upstream_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assets.id", ondelete="CASCADE"), index=True
    )
    downstream_id: Mapped[int] = mapped_column(
        sa.ForeignKey("assets.id", ondelete="CASCADE"), index=True
    )
    #: What flows: ``air``, ``chilled_water``, ``hot_water``, ``electricity``... ("" = unstated).
    medium: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssetStatusChange(Base):
    """One status transition of an asset: who, when, why (append-only)."""

    __tablename__ = "asset_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    ts: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    from_status: Mapped[AssetStatus | None] = mapped_column(
        enum_type(AssetStatus, "asset_status_from")
    )
    to_status: Mapped[AssetStatus] = mapped_column(enum_type(AssetStatus, "asset_status_to"))
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
    kind: Mapped[DocumentKind] = mapped_column(enum_type(DocumentKind, "asset_document_kind"))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    filename: Mapped[str] = mapped_column(sa.String(120))
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    #: Certificates (pressure vessel, lift inspection) expire.
    valid_until: Mapped[date | None] = mapped_column()
    uploaded_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
