"""Photo attachments on work orders, stored on disk under generated names.

The user's file name is only ever *shown*: it is checked (no path separators, no ``..``, no
control characters) and kept in the database, while the bytes go to
``<dir>/<order id>/<random hex>.<ext>`` where ``ext`` comes from the content itself (magic bytes),
not from the name or the client's Content-Type. So a hostile name cannot choose where the file
lands or how it is served back.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

from sqlalchemy.orm import Session

from facility.core.errors import WorkOrderError
from maintenance.work_orders.models import Attachment, WorkOrder

__all__ = [
    "MAX_ATTACHMENT_BYTES",
    "AttachmentRejected",
    "attachment_path",
    "check_filename",
    "sniff_type",
    "store_attachment",
]

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_ATTACHMENTS_PER_ORDER = 20
_NAME_RE = re.compile(r"^[\w][\w .()+-]{0,119}$")
_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
}


class AttachmentRejected(WorkOrderError):
    """The upload is too big, of a type we do not keep, or has an unsafe name (HTTP 4xx)."""

    def __init__(self, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def check_filename(name: str) -> str:
    """Return ``name`` if it is a plain file name; refuse paths and odd characters."""
    if not name or len(name) > 120:
        raise AttachmentRejected("the file name must be 1-120 characters")
    if "/" in name or "\\" in name or ".." in name or "\x00" in name:
        raise AttachmentRejected(
            f"file name {name[:60]!r} looks like a path; send a plain name such as photo.jpg"
        )
    if not _NAME_RE.match(name):
        raise AttachmentRejected(
            f"file name {name[:60]!r} has characters we do not keep; use letters, digits, "
            "space and . _ - ( ) +"
        )
    return name


def sniff_type(head: bytes) -> str:
    """The content type from the first bytes (JPEG, PNG or WebP), else AttachmentRejected."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    raise AttachmentRejected(
        "only JPEG, PNG or WebP photos are accepted (checked from the content)", status=415
    )


def attachment_path(root: Path, attachment: Attachment) -> Path:
    """Where an attachment's bytes live; always inside ``root``."""
    path = (root / str(attachment.work_order_id) / attachment.stored_name).resolve()
    if root.resolve() not in path.parents:
        raise AttachmentRejected("attachment path escapes the attachment directory")
    return path


def store_attachment(
    session: Session,
    *,
    root: Path,
    order: WorkOrder,
    filename: str,
    content: bytes,
    uploaded_by: str,
) -> Attachment:
    """Write the bytes and the row; the caller commits (and audits)."""
    check_filename(filename)
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise AttachmentRejected(
            f"the file is over {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB; send a smaller photo",
            status=413,
        )
    if not content:
        raise AttachmentRejected("the file is empty")
    if len(order.attachments) >= MAX_ATTACHMENTS_PER_ORDER:
        raise AttachmentRejected(
            f"an order keeps at most {MAX_ATTACHMENTS_PER_ORDER} attachments", status=409
        )
    content_type = sniff_type(content[:16])
    stored_name = secrets.token_hex(16) + _TYPES[content_type]
    folder = root / str(order.id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / stored_name
    with path.open("xb") as handle:
        handle.write(content)
    attachment = Attachment(
        filename=filename,
        stored_name=stored_name,
        content_type=content_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=uploaded_by,
    )
    order.attachments.append(attachment)
    return attachment
