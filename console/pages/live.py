"""The live stream: server-sent events with the devices' latest values and the assets'
health, which ``console.js`` writes into the overview and asset pages.

The first event of a stream carries everything on the overview; each later one only what
changed since the event before (:func:`changes`), because every open tab used to receive the
whole state every two seconds (1.6 MB a tick once a flood had made thousands of assets).
``console.js`` already applies whatever keys an event has, so a reconnecting tab simply gets
a full event again. A stream is bounded in time (see :func:`stream`), so a shutdown never
waits long on one.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from console import _data as data
from console._i18n import N_, Localizer
from console._labels import format_value
from console._render import PREFIX, context_of, localizer_of, state_of, user_of
from maintenance.people.deps import ApiContext

__all__ = ["changes", "router", "snapshot"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

PRESENCE_LABELS = {True: N_("online"), False: N_("offline"), None: N_("never heard")}


def snapshot(context: ApiContext, loc: Localizer) -> dict[str, Any]:
    """Every overview device's presence and formatted values and every asset's health, now."""
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


def changes(previous: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The devices and assets of ``current`` that are new or differ from ``previous`` (whole
    entries: a device with one new value is sent with all of its values), and the time."""
    return {
        section: {
            key: value
            for key, value in current[section].items()
            if previous.get(section, {}).get(key) != value
        }
        for section in ("devices", "assets")
    } | {"at": current["at"]}


@router.get("/stream")
async def stream(request: Request) -> Response:
    """Server-sent events every few seconds: a whole ``snapshot`` first, then only changes
    (under the same event name, which ``console.js`` applies key by key).

    A stream ends after ``stream_max_s`` (the browser's ``EventSource`` reconnects by itself)
    or when the process stops, so a shutdown never waits on an open stream for long.
    """
    user = user_of(request)
    if user is None:
        return Response("log in first", status_code=401)
    loc = localizer_of(request)
    state = state_of(request)
    context = context_of(request)

    async def events() -> AsyncIterator[str]:
        deadline = time.monotonic() + state.stream_max_s
        yield "retry: 2000\n\n"
        last: dict[str, Any] = {}
        while time.monotonic() < deadline and not state.stop.is_set():
            if await request.is_disconnected():
                return
            current = await run_in_threadpool(snapshot, context, loc)
            payload, last = changes(last, current), current
            yield f"event: snapshot\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"
            await asyncio.sleep(state.stream_interval_s)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
