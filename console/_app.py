"""Mounting the console on the FastAPI app: its static files, its pages and ``/``.

The console lives under ``/console`` (``/`` redirects there). What its pages share (the
request's context, user and language, and :func:`~console._render.render`) sits below them in
:mod:`console._render`; this module only puts the pages together, and nothing in the console
imports it.
"""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from console._headers import SecurityHeaders
from console._links import RateLimiter, Revocations
from console._render import HERE, PREFIX, ConsoleState
from console._thresholds import BandsOf
from console.pages import (
    assets,
    auth,
    devices,
    live,
    not_found,
    overview,
    pm,
    reports,
    review,
    stock,
    suppliers,
    work_orders,
)

__all__ = ["PREFIX", "ConsoleState", "mount_console"]

#: Every page module's router. Their paths do not overlap, so their order does not matter;
#: where paths within a module do (``/assets/replacement`` and ``/assets/{asset_id}``), the
#: module declares the more specific one first.
ROUTERS = (
    auth.router,
    overview.router,
    live.router,
    work_orders.router,
    reports.router,
    assets.router,
    devices.router,
    pm.router,
    stock.router,
    suppliers.router,
    review.router,
)


def mount_console(
    app: FastAPI,
    *,
    data_dir: Path,
    state: ConsoleState | None = None,
    stop: threading.Event | None = None,
    bands_of: BandsOf | None = None,
    link_secret: str | None = None,
    report_limits: tuple[str, str, str] | None = None,
) -> None:
    """Serve the console on ``app`` (which must carry an ``ApiContext`` in ``app.state``).

    Pass the process's ``stop`` event so live streams end promptly at shutdown, and
    ``bands_of`` so charts shade the alarm bands of the rules the engine runs.
    """
    state = state or ConsoleState(revocations=Revocations(data_dir / "report-links.json"))
    if stop is not None:
        state.stop = stop
    if bands_of is not None:
        state.bands_of = bands_of
    if link_secret is not None:  # else report links are checked under the session secret
        state.link_secret = link_secret
    if report_limits is not None:  # (per client and asset, per link, per asset) COUNT/PERIOD
        per_client, per_link, per_asset = report_limits
        state.per_client = RateLimiter.parse(per_client)
        state.per_link = RateLimiter.parse(per_link)
        state.per_asset = RateLimiter.parse(per_asset)
    app.add_middleware(SecurityHeaders)
    app.state.console = state
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="console-static")
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(not_found.router)  # last: only what no other route serves

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/", status_code=307)
