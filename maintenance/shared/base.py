"""Base types every domain's models and schemas share: the ORM base, UTC datetimes, enum and
numeric columns, request/response bases."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

if TYPE_CHECKING:
    pass
from pydantic import BaseModel, ConfigDict

__all__ = ["Base"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Quantity = sa.Numeric(14, 3)
Money = sa.Numeric(14, 4)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime()}


def enum_type(cls: type[enum.Enum], name: str) -> sa.Enum:
    # Stored as VARCHAR + CHECK, not a native enum type: new states are a one-line migration.
    return sa.Enum(cls, name=name, native_enum=False, length=20, values_callable=enum_values)


def enum_values(cls: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in cls]


class InputModel(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class OutputModel(BaseModel):
    """A response read from ORM rows."""

    model_config = ConfigDict(from_attributes=True)
