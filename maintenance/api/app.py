"""The FastAPI application: API under ``/api/v1``, health, Prometheus metrics, the console."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from facility.errors import ServiceUnavailable
from maintenance.api.deps import ApiContext
from maintenance.api.routes import assets, auth, readings, work_orders

__all__ = ["MAX_BODY_BYTES", "create_app"]

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
_CONSOLE = Path(__file__).resolve().parent.parent / "console" / "index.html"


class BodyLimit(BaseHTTPMiddleware):
    """Refuse bodies over the limit with 413 before anything reads them."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return PlainTextResponse("Content-Length is not a number", status_code=400)
            if int(length) > MAX_BODY_BYTES:
                return JSONResponse(
                    {"detail": f"request body over {MAX_BODY_BYTES} bytes"}, status_code=413
                )
        return await call_next(request)


def create_app(context: ApiContext) -> FastAPI:
    """Build the app around what the composition root hands in (no globals)."""
    app = FastAPI(
        title="Facility",
        version="0.1.0",
        description="Facility monitoring and maintenance: devices, readings, work orders.",
    )
    app.state.context = context
    app.add_middleware(BodyLimit)

    api = APIRouter(prefix="/api/v1")
    api.include_router(auth.router)
    api.include_router(work_orders.router)
    api.include_router(assets.router)
    api.include_router(readings.router)
    app.include_router(api)

    @app.exception_handler(ServiceUnavailable)
    async def _unavailable(request: Request, exc: ServiceUnavailable) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=503)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        """Liveness and database reachability."""
        try:
            with context.sessions() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:
            return JSONResponse({"status": "error", "database": str(exc)[:200]}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def console() -> FileResponse:
        return FileResponse(_CONSOLE, media_type="text/html")

    return app
