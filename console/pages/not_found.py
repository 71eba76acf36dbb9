"""The console's own 404 page for paths it does not know.

Without it an unknown console address (a mistyped bookmark, an old link from a chat message)
answered FastAPI's bare ``{"detail": "Not Found"}`` JSON: an English developer message on a
phone, with no way back. Mounted after every other console route, so it only catches what
nothing else serves.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console._i18n import N_
from console._render import PREFIX, not_found, user_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.api_route(f"{PREFIX}/{{path:path}}", methods=["GET", "HEAD"])
async def unknown_page(request: Request, path: str) -> Response:
    return not_found(
        request, user_of(request), N_("There is no such page. Check the address or start over.")
    )
