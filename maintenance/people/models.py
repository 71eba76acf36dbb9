"""SQLAlchemy models of the people who use the system: users, machine API keys, technician teams."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

if TYPE_CHECKING:
    pass
from maintenance.shared.base import Base, enum_type, utcnow
from maintenance.shared.vocabulary import Role

__all__ = ["ApiKey", "Team", "User"]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    email: Mapped[str | None] = mapped_column(sa.String(254))
    team: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    #: Asset types (``ahu``, ``chiller`` ...) this person is qualified for; used by dispatch.
    skills: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: For role ``contractor``: the company (``suppliers.id``) whose orders the user may see.
    supplier_id: Mapped[int | None] = mapped_column(sa.ForeignKey("suppliers.id"))
    #: Every token carries the version it was issued at; a sign-out, a deactivation, a role or
    #: password change bumps it, which withdraws every token issued before, at once.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")


class ApiKey(Base):
    """A machine's credential: a random key shown once, stored as its SHA-256.

    A fast hash is enough here (unlike passwords): the key is 256 random bits, so there is
    nothing to brute-force, and every API call can check it without an argon2 round.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    created_by: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class Team(Base):
    """A group of technicians with a lead, who is the first to hear about an SLA breach."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    lead: Mapped[str | None] = mapped_column(sa.String(64))
