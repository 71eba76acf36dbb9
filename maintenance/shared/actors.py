"""Who is acting on a record: a user name and role, or ``SYSTEM`` for rules, dispatch and the SLA
checker."""

from __future__ import annotations

from dataclasses import dataclass

from maintenance.shared.vocabulary import Role

__all__ = ["Actor"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a user name and role (``system`` for rules, dispatch, the SLA checker)."""

    username: str
    role: Role


SYSTEM = Actor("system", Role.ADMIN)
