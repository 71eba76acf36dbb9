"""Documents kept with an asset (manuals, certificates, drawings), stored like order photos.

The rules are those of order photos (:mod:`maintenance.work_orders.attachments`), kept in
:mod:`maintenance.shared.files` for both: the user's file name is only shown
(``filename_problem`` refuses paths and odd characters); the bytes go to ``<dir>/assets/<asset
id>/<random hex>.<ext>`` where the type, and so the extension, is sniffed from the content —
PDF, the photo types ``sniff_photo_type`` knows, or plain UTF-8 text — never taken from the name
or the client's Content-Type. Order photos live in ``<dir>/<order
id>/``, so the ``assets`` folder cannot collide with them.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from facility.core.errors import Conflict, TooLarge, UnsupportedMedia
from maintenance.assets.lifecycle import AssetError
from maintenance.assets.models import Asset, AssetDocument, DocumentKind
from maintenance.shared.files import (
    MAX_FILE_BYTES,
    filename_problem,
    generated_name,
    path_inside,
    sniff_photo_type,
    write_new,
)

__all__ = [
    "MAX_DOCUMENTS_PER_ASSET",
    "MAX_DOCUMENT_BYTES",
    "DocumentRejected",
    "document_path",
    "list_documents",
    "sniff_document_type",
    "store_document",
]

#: The same ceiling as order photos: the API's upload body limit is sized for it.
MAX_DOCUMENT_BYTES = MAX_FILE_BYTES
MAX_DOCUMENTS_PER_ASSET = 50
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "text/plain": ".txt",
}


class DocumentRejected(AssetError):
    """The upload has an unsafe name or is empty (422); the subclasses say what else."""


class DocumentTooLarge(DocumentRejected, TooLarge):
    """The file is over its size limit (413)."""


class DocumentTypeRejected(DocumentRejected, UnsupportedMedia):
    """The file is not of a type we keep, judged from its bytes (415)."""


class TooManyDocuments(DocumentRejected, Conflict):
    """The asset already keeps as many documents as it may (409)."""


def sniff_document_type(content: bytes) -> str:
    """PDF, JPEG/PNG/WebP, or plain UTF-8 text, judged from the bytes; else DocumentRejected."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    photo = sniff_photo_type(content[:16])
    if photo is not None:
        return photo
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
        return "text/plain"
    raise DocumentTypeRejected(
        "only PDF, JPEG, PNG, WebP or plain UTF-8 text documents are kept (checked from the "
        "content)"
    )


def document_path(root: Path, document: AssetDocument) -> Path:
    """Where a document's bytes live; always inside ``root/assets``."""
    path = path_inside(root / "assets", str(document.asset_id), document.stored_name)
    if path is None:
        raise DocumentRejected("document path escapes the document directory")
    return path


def store_document(
    session: Session,
    *,
    root: Path,
    asset: Asset,
    kind: DocumentKind,
    filename: str,
    content: bytes,
    uploaded_by: str,
    now: datetime,
    title: str = "",
    valid_until: date | None = None,
) -> AssetDocument:
    """Check, write the bytes, add the row; the caller commits."""
    problem = filename_problem(filename, example="manual.pdf")
    if problem is not None:
        raise DocumentRejected(problem)
    if len(title) > 200:
        raise DocumentRejected(f"the title is {len(title)} characters; at most 200")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise DocumentTooLarge(
            f"the file is over {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB; "
            "send a smaller (compressed) document"
        )
    if not content:
        raise DocumentRejected("the file is empty")
    count = session.scalar(
        sa.select(sa.func.count())
        .select_from(AssetDocument)
        .where(AssetDocument.asset_id == asset.id)
    )
    if (count or 0) >= MAX_DOCUMENTS_PER_ASSET:
        raise TooManyDocuments(
            f"an asset keeps at most {MAX_DOCUMENTS_PER_ASSET} documents; delete old ones"
        )
    content_type = sniff_document_type(content)
    stored_name = generated_name(_EXTENSIONS[content_type])
    write_new(root / "assets" / str(asset.id), stored_name, content)
    document = AssetDocument(
        asset_id=asset.id,
        kind=kind,
        title=title,
        filename=filename,
        stored_name=stored_name,
        content_type=content_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        valid_until=valid_until,
        uploaded_by=uploaded_by,
        created_at=now,
    )
    session.add(document)
    session.flush()
    return document


def list_documents(session: Session, *, asset_id: int) -> list[AssetDocument]:
    return list(
        session.scalars(
            sa.select(AssetDocument)
            .where(AssetDocument.asset_id == asset_id)
            .order_by(AssetDocument.id)
        )
    )
