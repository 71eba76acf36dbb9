"""Devices as people see them: paged lists, counts, and admission out of quarantine.

A device the registry does not place is *unassigned*: its readings are stored, but the stack
hands none of them to the rules, so it opens no work order and sends no notification. A person
admits it by linking it to an existing asset (:func:`admit_device`); the link is the admission.
We keep no separate "admitted" flag: an admitted device without an asset would need an asset
made up from its id for its alerts, which is exactly what quarantine stops, and a flag could
disagree with the link. Who admitted it and when is in the log and the CLI/API answer.

Lists are paged and counted in the database, because a flood can leave thousands of devices.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from facility.core.errors import Invalid, NotFound
from facility.core.types import DeviceState
from maintenance.assets.models import Asset, Device

__all__ = [
    "MAX_PAGE",
    "DeviceCounts",
    "DevicePage",
    "DeviceRow",
    "DeviceStatus",
    "admit_device",
    "count_devices",
    "list_devices",
]

log = logging.getLogger(__name__)

#: The largest page any device list returns.
MAX_PAGE = 1000
_MAX_ID = 200
_S = TypeVar("_S", bound=sa.Select[*tuple[Any, ...]])


class DeviceStatus(enum.StrEnum):
    """The list filters: ``unassigned`` = quarantined (no asset), ``assigned`` = on an asset."""

    UNASSIGNED = "unassigned"
    ASSIGNED = "assigned"


@dataclass(frozen=True, slots=True)
class DeviceRow:
    id: str
    asset: str | None
    kind: str
    state: DeviceState | None


@dataclass(frozen=True, slots=True)
class DevicePage:
    items: list[DeviceRow]
    total: int


@dataclass(frozen=True, slots=True)
class DeviceCounts:
    total: int
    assigned: int
    unassigned: int
    online: int


def _filtered(query: _S, status: DeviceStatus | None, q: str | None) -> _S:
    if status is DeviceStatus.UNASSIGNED:
        query = query.where(Device.asset_id.is_(None))
    elif status is DeviceStatus.ASSIGNED:
        query = query.where(Device.asset_id.is_not(None))
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(Device.id.ilike(pattern, escape="\\"))
    return query


def list_devices(
    session: Session,
    *,
    states: Sequence[DeviceState],
    status: DeviceStatus | None = None,
    q: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> DevicePage:
    """One page of devices by id, with their asset and live state, and the filtered total.

    Raises:
        Invalid: ``limit`` is not 1..MAX_PAGE or ``offset`` is negative.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit={limit} is out of range; ask for 1 to {MAX_PAGE} devices a page")
    if offset < 0:
        raise Invalid(f"offset={offset} is negative; start at 0")
    ids = _filtered(sa.select(Device.id), status, q)
    total = session.scalar(sa.select(sa.func.count()).select_from(ids.subquery())) or 0
    rows = session.execute(
        _filtered(
            sa.select(Device.id, Asset.code, Device.kind).outerjoin(
                Asset, Device.asset_id == Asset.id
            ),
            status,
            q,
        )
        .order_by(Device.id)
        .limit(limit)
        .offset(offset)
    ).all()
    by_device = {state.device: state for state in states}
    items = [DeviceRow(id=i, asset=a, kind=k, state=by_device.get(i)) for i, a, k in rows]
    return DevicePage(items=items, total=total)


def count_devices(session: Session, *, states: Sequence[DeviceState]) -> DeviceCounts:
    """How many devices there are, assigned, quarantined and online (one query each way)."""
    assigned, unassigned = session.execute(
        sa.select(
            sa.func.count(Device.asset_id),
            sa.func.count().filter(Device.asset_id.is_(None)),
        )
    ).one()
    return DeviceCounts(
        total=assigned + unassigned,
        assigned=assigned,
        unassigned=unassigned,
        online=sum(1 for state in states if state.online),
    )


def admit_device(session: Session, *, device: str, asset_code: str, actor: str) -> Device:
    """Admit ``device`` out of quarantine by linking it to the existing asset ``asset_code``.

    Its readings reach the rules from then on (the stack re-reads links within seconds); what
    it sent before admission raised nothing and raises nothing now. Admitting it again to
    another asset moves it. Commits.

    Raises:
        NotFound: no such device (it must have been heard or registered) or no such asset.
    """
    if not device or len(device) > _MAX_ID:
        raise Invalid(f"a device id has 1 to {_MAX_ID} characters, got {len(device)}")
    row = session.get(Device, device)
    if row is None:
        raise NotFound(
            f"device {device[:80]!r} has not been heard or registered; "
            "GET /api/v1/devices?status=unassigned lists the quarantined ones"
        )
    asset = session.scalar(sa.select(Asset).where(Asset.code == asset_code))
    if asset is None:
        raise NotFound(
            f"asset {asset_code[:80]!r} does not exist; create it first (POST /api/v1/assets)"
            " or pick one from GET /api/v1/assets"
        )
    previous = row.asset_id
    row.asset_id = asset.id
    session.commit()
    log.info(
        "device %r admitted to asset %s by %s%s",
        device,
        asset.code,
        actor,
        "" if previous is None else f" (moved from asset id {previous})",
    )
    return row
