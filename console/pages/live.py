"""The live stream: server-sent events with every device's latest values and every asset's
health, which ``console.js`` writes into the overview and asset pages.

A stream is bounded in time (see :func:`stream`), so a shutdown never waits long on one.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from console import _data as data
from console._i18n import N_, Localizer
from console._labels import format_value
from console._render import PREFIX, context_of, localizer_of, state_of, user_of

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

PRESENCE_LABELS = {True: N_("online"), False: N_("offline"), None: N_("never heard")}


def _snapshot(request: Request, loc: Localizer) -> dict[str, object]:
    context = context_of(request)
    states = context.states.list_states()
    with context.sessions() as session:
        sites = data.overview(session, states)
    devices: dict[str, dict[str, object]] = {}
    assets: dict[str, dict[str, str]] = {}
    for site in sites:
        for zone in site.zones.values():
            for asset in zone:
                assets[str(asset.id)] = {
                    "health": asset.health.health.value,
                    "label": loc.gettext(data.HEALTH_LABELS[asset.health.health]),
                    "reason": loc.gettext(asset.health.reason),
                }
                for device in asset.devices:
                    devices[device.id] = {
                        "online": device.online,
                        "presence": loc.gettext(PRESENCE_LABELS[device.online]),
                        "values": {
                            metric: format_value(loc, value, unit, metric)
                            for metric, (value, unit, _ts) in device.values.items()
                        },
                    }
    return {"devices": devices, "assets": assets, "at": datetime.now(UTC).isoformat()}


@router.get("/stream")
async def stream(request: Request) -> Response:
    """Server-sent events: a ``snapshot`` of live values every few seconds.

    A stream ends after ``stream_max_s`` (the browser's ``EventSource`` reconnects by itself)
    or when the process stops, so a shutdown never waits on an open stream for long.
    """
    user = user_of(request)
    if user is None:
        return Response("log in first", status_code=401)
    loc = localizer_of(request)
    state = state_of(request)

    async def events() -> AsyncIterator[str]:
        deadline = time.monotonic() + state.stream_max_s
        yield "retry: 2000\n\n"
        while time.monotonic() < deadline and not state.stop.is_set():
            if await request.is_disconnected():
                return
            payload = await run_in_threadpool(_snapshot, request, loc)
            yield f"event: snapshot\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"
            await asyncio.sleep(state.stream_interval_s)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
