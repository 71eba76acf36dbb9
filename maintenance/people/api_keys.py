"""API keys for machines (BMS integrations, scripts): created by an admin, shown once, revocable.

Machines cannot do the password flow comfortably and should not share a person's account; a key
carries its own role and its own name in the audit trail (``key:<name>``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from facility.core.errors import FacilityError
from maintenance.people.models import ApiKey
from maintenance.shared.vocabulary import Role

__all__ = ["KEY_PREFIX", "authenticate_key", "create_api_key", "list_api_keys", "revoke_api_key"]

KEY_PREFIX = "fac_"
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,56}$")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    session: Session, *, name: str, role: Role, created_by: str
) -> tuple[ApiKey, str]:
    """Store a new key and return it with the secret, which is never shown again."""
    if not _NAME_RE.match(name):
        raise FacilityError(f"key name {name[:60]!r} must be 1-56 of A-Z a-z 0-9 _ . -")
    if role is Role.ADMIN:
        raise FacilityError("API keys cannot have the admin role; use a manager key")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name, prefix=secret[:12], key_hash=_hash(secret), role=role, created_by=created_by
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError as exc:
        raise FacilityError(f"an API key named {name!r} exists already") from exc
    session.commit()
    return row, secret


def authenticate_key(session: Session, *, key: str) -> tuple[str, Role] | None:
    """The caller name (``key:<name>``) and role for a valid, unrevoked key; else None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    row = session.scalar(
        sa.select(ApiKey).where(ApiKey.key_hash == _hash(key), ApiKey.revoked_at.is_(None))
    )
    if row is None:
        return None
    return f"key:{row.name}", row.role


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(sa.select(ApiKey).order_by(ApiKey.name)))


def revoke_api_key(session: Session, *, name: str) -> None:
    row = session.scalar(sa.select(ApiKey).where(ApiKey.name == name))
    if row is None:
        raise FacilityError(f"no API key named {name[:60]!r}")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
    session.commit()
