"""Devices: how many there are, a page of them at a time, and admitting quarantined ones.

A device in no registry is *unassigned* (quarantined): its readings are stored and shown here,
but it opens no work order until a manager admits it to an asset, with the form on each
unassigned row (the same :func:`maintenance.assets.devices.admit_device` as
``POST /api/v1/devices/{id}/admit``). The page shows counts and one page of
:data:`PAGE_SIZE` devices, never thousands of cards, because a flood can leave thousands.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from console._forms import (
    MAX_OFFSET,
    ActionRefused,
    BadParameter,
    Problem,
    bad_parameter,
    kept,
    manager_form,
    query_int,
    read_field,
    redirect,
    service_refused,
)
from console._i18n import N_
from console._labels import page
from console._render import PREFIX, context_of, gate
from console._session import ConsoleUser
from facility.core.errors import FacilityError
from maintenance.api.problems import status_of
from maintenance.assets import devices

__all__ = ["PAGE_SIZE", "router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

PAGE_SIZE = 50
NOTICES = {"admitted": N_("The device was admitted; its readings now reach the rules.")}


def _status(request: Request) -> devices.DeviceStatus | None:
    raw = request.query_params.get("status", "")
    if raw in ("", "all"):
        return None
    try:
        return devices.DeviceStatus(raw)
    except ValueError:
        raise BadParameter("status", raw) from None


@router.get("/devices")
async def devices_page(request: Request) -> Response:
    """Device counts and one page of devices (``?status=unassigned``, ``?offset=N``)."""
    checked = gate(request, managers_only=False)
    if isinstance(checked, Response):
        return checked
    try:
        status = _status(request)
        offset = query_int(request, "offset", default=0, low=0, high=MAX_OFFSET)
    except BadParameter as exc:
        return bad_parameter(request, checked, exc)
    return await _response(request, checked, status=status, offset=offset)


async def _response(
    request: Request,
    user: ConsoleUser,
    *,
    status: devices.DeviceStatus | None,
    offset: int,
    problem: Problem | None = None,
) -> Response:
    context = context_of(request)

    def load() -> tuple[devices.DeviceCounts, devices.DevicePage]:
        states = context.states.list_states()
        with context.sessions() as session:
            counts = devices.count_devices(session, states=states)
            found = devices.list_devices(
                session, states=states, status=status, limit=PAGE_SIZE, offset=offset
            )
        return counts, found

    counts, found = await run_in_threadpool(load)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return page(
        request,
        "devices.html",
        user,
        status_code=problem.status_code if problem else 200,
        counts=counts,
        devices=found,
        status=status.value if status else "all",
        offset=offset,
        page_size=PAGE_SIZE,
        device_notice=notice,
        problem=problem,
    )


@router.post("/devices")
async def admit_action(request: Request) -> Response:
    """Admit a quarantined device to an existing asset; managers and admins."""
    checked = await manager_form(request)
    if isinstance(checked, Response):
        return checked
    user, form = checked
    context = context_of(request)
    values = kept(form, "device", "asset")
    try:
        device = read_field(form, "admit", values, "device", max_len=200, required=True)
        asset = read_field(form, "admit", values, "asset", max_len=200, required=True)

        def admit() -> None:
            with context.sessions() as session:
                devices.admit_device(session, device=device, asset_code=asset, actor=user.username)

        try:
            await run_in_threadpool(admit)
        except FacilityError as exc:  # the error's kind decides the status, as in the API
            raise service_refused("admit", exc, values, status_code=status_of(exc)) from None
    except ActionRefused as refused:
        return await _response(
            request,
            user,
            status=devices.DeviceStatus.UNASSIGNED,
            offset=0,
            problem=refused.problem,
        )
    return redirect("/devices", "admitted", status="unassigned")
