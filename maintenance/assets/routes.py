"""``/api/v1/assets`` and ``/api/v1/devices``: the equipment and the sensors on it."""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import aliased, selectinload

from maintenance.assets.lifecycle_routes import to_publics
from maintenance.assets.models import Asset, AssetLevel, AssetStatus, Criticality, Device
from maintenance.assets.schemas import AssetLifecyclePublic, DevicePublic, MetricValue
from maintenance.people.deps import ContextDep, CurrentUser, SessionDep
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
    session: SessionDep, context: ContextDep, caller: CurrentUser
) -> list[DevicePublic]:
    """Every device heard or registered: online state, last seen, latest value per metric.

    A device that sent data but is in no registry is listed with ``asset: null`` (unassigned),
    never dropped.
    """
    registry = {
        device.id: (device.asset.code if device.asset else None)
        for device in session.scalars(sa.select(Device).options(selectinload(Device.asset)))
    }
    states = {state.device: state for state in context.states.list_states()}
    result = []
    for device_id in sorted(set(registry) | set(states)):
        state = states.get(device_id)
        result.append(
            DevicePublic(
                id=device_id,
                asset=registry.get(device_id),
                online=state.online if state else False,
                last_seen=state.last_seen if state else None,
                values={
                    metric: MetricValue(value=v, unit=u, ts=ts)
                    for metric, (v, u, ts) in (state.values.items() if state else [])
                },
            )
        )
    return result
