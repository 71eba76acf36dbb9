"""Words every domain speaks: who someone is (``Role``) and how urgent work is (``Priority``).

They sit below the domains because access rules, SLA targets, dispatch and PM plans all use
them; each domain's own states (work-order status, asset status) stay in its models."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

__all__ = ["Priority", "Role"]


class Priority(enum.StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    TECH = "tech"
    REQUESTER = "requester"
    #: A service contractor's staff: sees and updates only their own company's orders.
    CONTRACTOR = "contractor"
