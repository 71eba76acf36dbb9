"""The FastAPI application: API under ``/api/v1``, health, Prometheus metrics.

The console (package ``console``) is mounted on it by the composition root, ``facility.app``.
Errors of every route answer as RFC 9457 problem details (:mod:`maintenance.api.problems`).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facility.core.health import HealthBoard
from maintenance.api import problems
from maintenance.api.nul_guard import NulGuard
from maintenance.api.problems import problem_response
from maintenance.assets import brick_routes as asset_brick
from maintenance.assets import (
    lifecycle_routes as asset_lifecycle,
)
from maintenance.assets import (
    reading_routes as readings,
)
from maintenance.assets import (
    routes as assets,
)
from maintenance.insights import asset_routes as asset_insights
from maintenance.insights import routes as kpis
from maintenance.insights import scorecard_routes as scorecards
from maintenance.inventory import parts_routes as work_order_parts
from maintenance.inventory import routes as inventory
from maintenance.people import api_key_routes as api_keys
from maintenance.people import routes as auth
from maintenance.people.deps import ApiContext, get_context
from maintenance.pm import routes as pm
from maintenance.purchasing import routes as purchasing
from maintenance.review import routes as reviews
from maintenance.sites import routes as sites
from maintenance.suppliers import routes as suppliers
from maintenance.work_orders import checklist_routes as checklists
from maintenance.work_orders import contractor_routes as contractors
from maintenance.work_orders import routes as work_orders
from maintenance.work_orders.attachments import MAX_ATTACHMENT_BYTES

__all__ = ["MAX_BODY_BYTES", "create_app"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
UPLOAD_LIMIT_BYTES = MAX_ATTACHMENT_BYTES + 64 * 1024  # the photo plus its multipart envelope


class _TooLarge(HTTPException):
    """Raised from ``receive``; an HTTPException so FastAPI's body parser passes it on as 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


class BodyLimit:
    """Refuse bodies over the limit with 413, whether or not they declare their length.

    A pure ASGI middleware rather than ``BaseHTTPMiddleware`` because it must also count the
    bytes of a chunked upload as they arrive: ``Content-Length`` is only a claim. Photo uploads
    (paths ending in ``/attachments``) get the attachment limit, everything else 1 MiB.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        uploads = path.endswith(("/attachments", "/documents"))  # photos, asset documents
        limit = UPLOAD_LIMIT_BYTES if uploads else MAX_BODY_BYTES
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await problem_response(400, "Content-Length is not a number")(scope, receive, send)
                return
            if int(declared) > limit:
                await _too_large(limit)(scope, receive, send)
                return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _too_large(limit)(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    return problem_response(413, f"request body over {limit} bytes")


def create_app(context: ApiContext, *, health: HealthBoard | None = None) -> FastAPI:
    """Build the app around what the composition root hands in (no globals).

    ``health``: the components' state that ``/healthz`` and ``/readyz`` report (the stack's
    gateway and database prober write it); without it ``/healthz`` checks the database itself.
    """
    app = FastAPI(
        title="Facility",
        version="0.1.0",
        description="Facility monitoring and maintenance: devices, readings, work orders.",
    )
    app.state.context = context
    problems.install(app)  # every error, of every route, as RFC 9457 problem details
    app.add_middleware(NulGuard)
    app.add_middleware(BodyLimit)  # added last = runs first: size is checked before buffering

    api = APIRouter(prefix="/api/v1")
    api.include_router(auth.router)
    # before work_orders: its /{id}/{action} route would take /{id}/contractor|labour|parts
    api.include_router(contractors.router)
    api.include_router(work_order_parts.router)
    api.include_router(work_orders.router)
    # before the asset routers: their /assets/{code:path} would take .../figures and .../history
    api.include_router(asset_insights.router)
    api.include_router(assets.router)
    api.include_router(readings.router)
    api.include_router(kpis.router)
    api.include_router(checklists.router)
    api.include_router(api_keys.router)
    api.include_router(pm.router)
    api.include_router(inventory.router)
    api.include_router(asset_brick.router)  # before asset_lifecycle: /assets/{code:path}
    api.include_router(asset_lifecycle.router)
    api.include_router(scorecards.router)  # before suppliers: /suppliers/{code} would take it
    api.include_router(suppliers.router)
    api.include_router(purchasing.router)
    api.include_router(reviews.router)
    api.include_router(sites.router)
    app.include_router(api)

    if health is not None:
        board = health

        @app.get("/healthz", tags=["ops"])
        async def healthz() -> JSONResponse:
            """Liveness: 200 while the process serves, ``status`` ``ok`` or ``degraded``.

            Each component says why it is degraded. Read from the health board only (no
            database or store call), so it answers at once even while storage hangs.
            """
            status, ready, components = board.summary()
            body = {"status": status, "ready": ready, "components": components}
            return JSONResponse(body, headers={"Cache-Control": "no-store"})

        @app.get("/readyz", tags=["ops"])
        async def readyz() -> JSONResponse:
            """Readiness: 503 while readings cannot be stored (nor spooled), the ingest worker
            is dead or the database is unreachable; 200 otherwise, degraded or not."""
            status, ready, components = board.summary()
            failing = {n: c for n, c in components.items() if c["critical"] and c["status"] != "ok"}
            body: dict[str, object] = {"status": "ready" if ready else "not ready"}
            body["health"] = status
            body["components"] = failing if not ready else components
            headers = {"Cache-Control": "no-store"}
            if not ready:
                headers["Retry-After"] = "5"
            return JSONResponse(body, status_code=200 if ready else 503, headers=headers)

    else:

        @app.get("/healthz", tags=["ops"])
        def healthz_checked(request: Request) -> JSONResponse:
            """Liveness and database reachability (an app built without a health board)."""
            try:
                with get_context(request).sessions() as session:
                    session.execute(text("SELECT 1"))
            except Exception as exc:
                body = {"status": "error", "database": str(exc)[:200]}
                return JSONResponse(body, status_code=503)
            return JSONResponse({"status": "ok", "database": "ok"})

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
