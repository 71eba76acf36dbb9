"""The overview: every site's zones and assets with their health and live values.

The page is drawn from the device states and the asset register as they are now;
``console.js`` then keeps its values fresh from the live stream (:mod:`console.pages.live`).
Quarantined (unassigned) devices are not cards here, only a count with a link to the devices
page: a flood of unknown ids once made this page 7.4 MB. At most :data:`MAX_CARDS` asset cards
are drawn; the rest are counted, and the assets page pages through them all.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from console import _data as data
from console._labels import NOTICES, common
from console._render import PREFIX, context_of, login_redirect, render, user_of
from maintenance.assets import devices

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)

MAX_CARDS = 500


def _first_cards(sites: list[data.SiteView], limit: int) -> tuple[list[data.SiteView], int]:
    """The sites with at most ``limit`` asset cards in all, and how many were left out."""
    shown, left_out, room = [], 0, limit
    for site in sites:
        zones: dict[str, list[data.AssetView]] = {}
        for zone, assets in site.zones.items():
            kept = assets[: max(room, 0)]
            left_out += len(assets) - len(kept)
            room -= len(kept)
            if kept:
                zones[zone] = kept
        if zones:
            shown.append(data.SiteView(code=site.code, name=site.name, zones=zones))
    return shown, left_out


@router.get("/")
async def overview(request: Request) -> Response:
    user = user_of(request)
    if user is None:
        return login_redirect(request)
    context = context_of(request)

    def load() -> tuple[list[data.SiteView], devices.DeviceCounts]:
        states = context.states.list_states()
        with context.sessions() as session:
            return data.overview(session, states), devices.count_devices(session, states=states)

    every_site, device_counts = await run_in_threadpool(load)
    sites, left_out = _first_cards(every_site, MAX_CARDS)
    return render(
        request,
        "overview.html",
        user=user,
        sites=sites,
        device_counts=device_counts,
        cards_left_out=left_out,
        notice=NOTICES.get(request.query_params.get("notice", "")),
        **common(request, user),
    )
