"""The overview: every site's zones and assets with their health and live values.

The page is drawn from the device states and the asset register as they are now;
``console.js`` then keeps its values fresh from the live stream (:mod:`console.pages.live`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from console import _data as data
from console._labels import NOTICES, common
from console._render import PREFIX, context_of, login_redirect, render, user_of

__all__ = ["router"]

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/")
async def overview(request: Request) -> Response:
    user = user_of(request)
    if user is None:
        return login_redirect(request)
    context = context_of(request)

    def load() -> list[data.SiteView]:
        states = context.states.list_states()
        with context.sessions() as session:
            return data.overview(session, states)

    sites = await run_in_threadpool(load)
    return render(
        request,
        "overview.html",
        user=user,
        sites=sites,
        notice=NOTICES.get(request.query_params.get("notice", "")),
        **common(request, user),
    )
