"""``/api/v1/assets`` and ``/api/v1/devices``: the equipment and the sensors on it."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.orm import selectinload

from maintenance.api.deps import ContextDep, CurrentUser, SessionDep
from maintenance.models import Asset, Device
from maintenance.schemas import AssetPublic, DevicePublic, MetricValue

router = APIRouter(tags=["assets"])


@router.get("/assets")
def list_assets(session: SessionDep, caller: CurrentUser) -> list[AssetPublic]:
    """Every asset with the ids of its devices."""
    assets = session.scalars(
        sa.select(Asset).options(selectinload(Asset.devices)).order_by(Asset.code)
    ).all()
    return [
        AssetPublic(
            id=a.id,
            code=a.code,
            name=a.name,
            asset_type=a.asset_type,
            location=a.location,
            devices=sorted(d.id for d in a.devices),
        )
        for a in assets
    ]


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
