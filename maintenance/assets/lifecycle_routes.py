"""``/api/v1/assets/...``: the asset register — life cycle, status, documents, CSV.

Who may do what (as the work-order loop): admins and managers create and edit assets, move their
status, upload documents and import CSV; every signed-in user reads. ``GET /api/v1/assets`` (the
list) lives in ``routes/assets.py``. Errors: unknown asset 404, role 403, a status move the
machine forbids or a duplicate code 409, malformed input 422 (CSV: every row error at once),
document too big 413, document of a type we do not keep 415.

An asset's figures and history and the replacement plan read work orders, so they live on the
read side (``maintenance/insights/asset_routes.py``), included before this router so that
``/assets/{code:path}`` does not shadow them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from fastapi import APIRouter, File, Form, HTTPException, Path, Query, Request, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from maintenance.assets import documents as asset_documents
from maintenance.assets import lifecycle
from maintenance.assets import register_csv as asset_csv
from maintenance.assets.models import Asset, AssetDocument, Device, DocumentKind
from maintenance.assets.schemas import (
    AssetCreate,
    AssetDocumentPublic,
    AssetLifecyclePublic,
    AssetStatusChangeCreate,
    AssetStatusChangePublic,
    AssetTreeNode,
    AssetUpdate,
    ImportResultPublic,
)
from maintenance.people.deps import (
    Caller,
    ContextDep,
    CurrentUser,
    SessionDep,
    require_roles,
)
from maintenance.shared.request_files import read_import_file
from maintenance.shared.vocabulary import Role
from maintenance.sites.models import Site

__all__ = ["router", "to_public", "to_publics"]

router = APIRouter(tags=["assets"])

T = TypeVar("T")
#: ``:path`` because codes may hold "/" (rules name a device's own asset after its topic path,
#: e.g. ``plant/boiler-2``); ``/assets/plant/boiler-2/figures`` then reads as that asset's figures.
CodePath = Annotated[str, Path(min_length=1, max_length=200)]
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
SiteQuery = Annotated[str | None, Query(min_length=1, max_length=64)]
Manager = Annotated[Caller, require_roles(Role.ADMIN, Role.MANAGER)]
_CSV_LIMIT_BYTES = 1024 * 1024  # the API's body limit; the CLI imports bigger files


def to_public(session: Session, asset: Asset) -> AssetLifecyclePublic:
    """The asset with its parent's and site's codes and its devices."""
    return to_publics(session, [asset])[0]


def to_publics(session: Session, assets: Sequence[Asset]) -> list[AssetLifecyclePublic]:
    """Many assets in three queries (parents, sites, devices), not three per asset."""
    parent_ids = {a.parent_id for a in assets if a.parent_id is not None}
    site_ids = {a.site_id for a in assets if a.site_id is not None}
    parents: dict[int, str] = {
        row[0]: row[1]
        for row in session.execute(sa.select(Asset.id, Asset.code).where(Asset.id.in_(parent_ids)))
    }
    sites: dict[int, str] = {
        row[0]: row[1]
        for row in session.execute(sa.select(Site.id, Site.code).where(Site.id.in_(site_ids)))
    }
    devices: dict[int, list[str]] = {}
    for device_id, asset_id in session.execute(
        sa.select(Device.id, Device.asset_id).where(Device.asset_id.in_([a.id for a in assets]))
    ):
        if asset_id is not None:
            devices.setdefault(asset_id, []).append(device_id)
    fields = [c for c in AssetLifecyclePublic.model_fields if c not in ("parent", "site")]
    return [
        AssetLifecyclePublic.model_validate(
            {
                **{c: getattr(asset, c) for c in fields if c != "devices"},
                "parent": parents.get(asset.parent_id) if asset.parent_id else None,
                "site": sites.get(asset.site_id) if asset.site_id else None,
                "devices": sorted(devices.get(asset.id, [])),
            }
        )
        for asset in assets
    ]


def _asset(session: Session, code: str) -> Asset:
    return lifecycle.get_asset(session, code=code)


# -- collection-level views (declared before /assets/{code}) --------------------------------------
@router.get("/assets/tree")
def get_tree(
    session: SessionDep,
    caller: CurrentUser,
    root: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    site: SiteQuery = None,
) -> list[AssetTreeNode]:
    """The site → building → floor → zone → equipment tree (one subtree with ``root``)."""
    nodes = lifecycle.asset_tree(session, root=root, site=site)
    return [AssetTreeNode.model_validate(n) for n in nodes]


@router.get("/assets/export.csv", response_class=Response)
def export_csv(session: SessionDep, caller: CurrentUser, site: SiteQuery = None) -> Response:
    """The register as CSV (the import's columns); cells that look like formulas are defused."""
    body = "".join(asset_csv.export_assets(session, site=site))
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="assets.csv"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/assets/import")
async def import_csv(
    request: Request, session: SessionDep, context: ContextDep, caller: Manager
) -> ImportResultPublic:
    """Upsert assets by code from CSV (``text/csv`` body, or multipart field ``file``).

    All or nothing: any bad row → 422 with ``detail.errors`` = every ``{line, column, reason}``
    and nothing written.
    """
    data = await read_import_file(request, what="the CSV file")
    result = await run_in_threadpool(
        lambda: asset_csv.import_assets(
            session,
            data=data,
            actor=caller.username,
            now=context.clock(),
            max_bytes=_CSV_LIMIT_BYTES,
        )
    )
    return ImportResultPublic(
        created=result.created, updated=result.updated, status_changes=result.status_changes
    )


@router.post("/assets", status_code=status.HTTP_201_CREATED)
def create_asset(
    body: AssetCreate, session: SessionDep, context: ContextDep, caller: Manager
) -> AssetLifecyclePublic:
    """Add an asset to the register (its first status goes into the history)."""
    spec = lifecycle.AssetSpec(**body.model_dump())
    asset = lifecycle.create_asset(session, spec=spec, actor=caller.username, now=context.clock())
    return to_public(session, asset)


@router.post("/assets/{code:path}/status", status_code=status.HTTP_201_CREATED)
def change_status(
    code: CodePath,
    body: AssetStatusChangeCreate,
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
) -> AssetStatusChangePublic:
    """Move the asset along its status machine (decommissioned is final); 409 if not allowed."""
    change = lifecycle.change_status(
        session,
        code=code,
        to=body.to,
        actor=caller.username,
        reason=body.reason,
        now=context.clock(),
        work_order_id=body.work_order_id,
    )
    return AssetStatusChangePublic.model_validate(change)


# -- documents ------------------------------------------------------------------------------------
@router.post("/assets/{code:path}/documents", status_code=status.HTTP_201_CREATED)
def upload_document(
    code: CodePath,
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
    file: Annotated[UploadFile, File(description="PDF, JPEG, PNG, WebP or UTF-8 text")],
    kind: Annotated[DocumentKind, Form()] = DocumentKind.OTHER,
    title: Annotated[str, Form(max_length=200)] = "",
    valid_until: Annotated[date | None, Form()] = None,
    filename: Annotated[str | None, Form(max_length=200)] = None,
) -> AssetDocumentPublic:
    """Keep a manual, certificate or drawing with the asset (type checked from the content)."""
    root = context.attachments_dir
    if root is None:
        raise HTTPException(503, "document storage is not configured on this server")
    asset = _asset(session, code)
    content = file.file.read(asset_documents.MAX_DOCUMENT_BYTES + 1)
    name = filename or file.filename or "document"
    document = asset_documents.store_document(
        session,
        root=root,
        asset=asset,
        kind=kind,
        filename=name,
        content=content,
        uploaded_by=caller.username,
        now=context.clock(),
        title=title,
        valid_until=valid_until,
    )
    session.commit()
    return AssetDocumentPublic.model_validate(document)


@router.get("/assets/{code:path}/documents")
def list_documents(
    code: CodePath, session: SessionDep, caller: CurrentUser
) -> list[AssetDocumentPublic]:
    asset = _asset(session, code)
    return [
        AssetDocumentPublic.model_validate(d)
        for d in asset_documents.list_documents(session, asset_id=asset.id)
    ]


@router.get("/assets/{code:path}/documents/{document_id}", response_class=FileResponse)
def download_document(
    code: CodePath,
    document_id: IdPath,
    session: SessionDep,
    context: ContextDep,
    caller: CurrentUser,
) -> FileResponse:
    """The document's bytes as a download, with its sniffed content type."""
    root = context.attachments_dir
    if root is None:
        raise HTTPException(503, "document storage is not configured on this server")
    asset = _asset(session, code)
    document = session.get(AssetDocument, document_id)
    if document is None or document.asset_id != asset.id:
        raise HTTPException(404, f"asset {code[:60]!r} has no document {document_id}")
    path = asset_documents.document_path(root, document)
    if not path.is_file():
        raise HTTPException(410, "the document's file is missing on the server")
    return FileResponse(
        path,
        media_type=document.content_type,
        filename=document.filename,
        headers={"X-Content-Type-Options": "nosniff"},
    )


# -- one asset ------------------------------------------------------------------------------------
# Declared last: ``{code:path}`` also matches ".../history", so the sub-resources above go first.
@router.get("/assets/{code:path}")
def get_asset(code: CodePath, session: SessionDep, caller: CurrentUser) -> AssetLifecyclePublic:
    return to_public(session, _asset(session, code))


@router.patch("/assets/{code:path}")
def update_asset(
    code: CodePath,
    body: AssetUpdate,
    session: SessionDep,
    context: ContextDep,
    caller: Manager,
) -> AssetLifecyclePublic:
    """Change the fields sent (``null`` clears an optional field). Status: POST .../status."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    for required in ("name", "level", "criticality", "asset_type"):
        if required in changes and changes[required] is None:
            raise HTTPException(422, f"{required} cannot be cleared")
    for text in ("location", "category", "manufacturer", "model", "serial_number"):
        if text in changes and changes[text] is None:
            changes[text] = ""
    asset = lifecycle.update_asset(
        session, code=code, changes=changes, actor=caller.username, now=context.clock()
    )
    return to_public(session, asset)
