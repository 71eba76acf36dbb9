"""``/api/v1/assets/import-brick`` and ``/api/v1/assets/export.ttl``: Brick models over HTTP.

The same import as ``facility assets import-brick`` (all or nothing, idempotent) for admins and
managers, as the CSV import; every signed-in user may export. A model that cannot be imported
answers 422 with every reason in ``errors`` and nothing written. Included before the life-cycle
router, whose ``/assets/{code:path}`` would otherwise take ``export.ttl`` for an asset code.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from maintenance.assets import brick
from maintenance.assets.brick_export import export_brick
from maintenance.people.deps import Caller, ContextDep, CurrentUser, SessionDep, require_roles
from maintenance.shared.request_files import read_import_file
from maintenance.shared.vocabulary import Role

__all__ = ["BrickImportPublic", "BrickNotePublic", "router"]

router = APIRouter(tags=["assets"])
Manager = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER)]
SiteQuery = Annotated[str | None, Query(min_length=1, max_length=64)]
_MODEL_LIMIT_BYTES = 1024 * 1024  # the API's body limit; the CLI imports bigger models


class BrickNotePublic(BaseModel):
    kind: str
    subject: str
    detail: str


class BrickImportPublic(BaseModel):
    """What the import wrote (or would have, with ``dry_run``) and what it could not map."""

    site: str
    created: int
    updated: int
    feeds_created: int
    feeds_updated: int
    devices_linked: int
    points: int
    points_mapped: int
    points_linked: int
    dry_run: bool
    notes: list[BrickNotePublic]


@router.post("/assets/import-brick")
async def import_brick_model(
    request: Request,
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
    site: SiteQuery = None,
    dry_run: bool = False,
) -> BrickImportPublic:
    """Import a Brick model (``text/turtle`` body, or multipart field ``file``).

    All or nothing: an unusable model → 422 with every reason and nothing written.
    """
    data = await read_import_file(request, what="the Brick model (Turtle)")
    result, plan = await run_in_threadpool(
        lambda: brick.import_brick(
            session,
            data=data,
            site=site,
            actor=caller.username,
            now=context.clock(),
            dry_run=dry_run,
            max_bytes=_MODEL_LIMIT_BYTES,
        )
    )
    return BrickImportPublic.model_validate({"site": plan.site, **asdict(result)})


@router.get("/assets/export.ttl", response_class=Response)
def export_brick_model(
    session: SessionDep, context: ContextDep, caller: CurrentUser, site: SiteQuery = None
) -> Response:
    """The register as a Brick model; points are the metrics each linked device reported."""
    metrics = {state.device: sorted(state.values) for state in context.states.list_states()}
    body = export_brick(session, site=site, metrics=metrics)
    return Response(
        body,
        media_type="text/turtle; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="assets.ttl"',
            "X-Content-Type-Options": "nosniff",
        },
    )
