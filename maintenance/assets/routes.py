"""``/api/v1/assets`` and ``/api/v1/devices``: the equipment and the sensors on it."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, StringConstraints
from sqlalchemy.orm import aliased

from facility.core.types import DeviceState
from maintenance.assets import devices
from maintenance.assets.devices import DeviceStatus
from maintenance.assets.lifecycle_routes import to_publics
from maintenance.assets.models import Asset, AssetLevel, AssetStatus, Criticality
from maintenance.assets.schemas import AssetLifecyclePublic, DevicePublic, MetricValue
from maintenance.people.deps import Caller, ContextDep, CurrentUser, SessionDep, require_roles
from maintenance.shared.vocabulary import Role
from maintenance.sites.models import Site

router = APIRouter(tags=["assets"])


@router.get("/assets")
def list_assets(
    session: SessionDep,
    caller: CurrentUser,
    response: Response,
    site: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    level: AssetLevel | None = None,
    status: AssetStatus | None = None,
    criticality: Criticality | None = None,
    parent: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[AssetLifecyclePublic]:
    """Assets with the ids of their devices and their life-cycle fields, by code.

    Filters combine; ``q`` matches code, name, manufacturer, model or serial number. The list
    stays a plain array (older clients read it so); ``X-Total-Count`` is the unpaged count.
    """
    query = sa.select(Asset)
    if site is not None:
        query = query.join(Site, Site.id == Asset.site_id).where(Site.code == site)
    if level is not None:
        query = query.where(Asset.level == level)
    if status is not None:
        query = query.where(Asset.status == status)
    if criticality is not None:
        query = query.where(Asset.criticality == criticality)
    if parent is not None:
        up = aliased(Asset)
        query = query.join(up, up.id == Asset.parent_id).where(up.code == parent)
    if q is not None:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(
                *(
                    column.ilike(pattern, escape="\\")
                    for column in (
                        Asset.code,
                        Asset.name,
                        Asset.manufacturer,
                        Asset.model,
                        Asset.serial_number,
                    )
                )
            )
        )
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    response.headers["X-Total-Count"] = str(total)
    assets = session.scalars(query.order_by(Asset.code).limit(limit).offset(offset)).all()
    return to_publics(session, assets)


@router.get("/devices")
def list_devices(
    session: SessionDep,
    context: ContextDep,
    caller: CurrentUser,
    response: Response,
    status: DeviceStatus | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=devices.MAX_PAGE)] = 500,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[DevicePublic]:
    """Devices heard or registered, by id, a page at a time: online state, last seen, latest
    value per metric.

    ``status=unassigned`` lists the quarantined devices (heard, in no registry, admitted by
    nobody: their readings are stored, their alerts are not raised), ``assigned`` the others;
    ``q`` matches part of the id. The list stays a plain array as before; ``X-Total-Count`` is
    the filtered total, and ``limit`` (at most 1000) with ``offset`` pages through it.
    """
    page = devices.list_devices(
        session,
        states=context.states.list_states(),
        status=status,
        q=q,
        limit=limit,
        offset=offset,
    )
    response.headers["X-Total-Count"] = str(page.total)
    return [_public(row.id, row.asset, row.state) for row in page.items]


def _public(device: str, asset: str | None, state: DeviceState | None) -> DevicePublic:
    return DevicePublic(
        id=device,
        asset=asset,
        online=state.online if state else False,
        last_seen=state.last_seen if state else None,
        values={
            metric: MetricValue(value=v, unit=u, ts=ts)
            for metric, (v, u, ts) in (state.values.items() if state else [])
        },
    )


class DeviceCountsPublic(BaseModel):
    total: int
    assigned: int
    unassigned: int
    online: int


@router.get("/devices/summary")
def device_summary(
    session: SessionDep, context: ContextDep, caller: CurrentUser
) -> DeviceCountsPublic:
    """How many devices there are, on an asset, quarantined (unassigned) and online."""
    counts = devices.count_devices(session, states=context.states.list_states())
    return DeviceCountsPublic(
        total=counts.total,
        assigned=counts.assigned,
        unassigned=counts.unassigned,
        online=counts.online,
    )


class DeviceAdmit(BaseModel):
    """Which existing asset the device watches; linking it is what admits it."""

    model_config = ConfigDict(extra="forbid")

    asset: Annotated[str, StringConstraints(min_length=1, max_length=200)]


@router.post("/devices/{device:path}/admit")
def admit_device(
    device: Annotated[str, Path(min_length=1, max_length=200)],
    body: DeviceAdmit,
    session: SessionDep,
    context: ContextDep,
    caller: Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER)],
) -> DevicePublic:
    """Admit a quarantined device: link it to an existing asset, so its readings reach the
    rules (within seconds) and may open work orders. Managers and admins only.

    Example body: ``{"asset": "AHU-3"}``. 404 when the device was never heard or the asset
    does not exist.
    """
    row = devices.admit_device(session, device=device, asset_code=body.asset, actor=caller.username)
    state = next((s for s in context.states.list_states() if s.device == row.id), None)
    return _public(row.id, body.asset, state)
