"""Photo attachments on work orders, stored on disk under generated names.

The user's file name is only ever *shown*: it is checked (no path separators, no ``..``, no
control characters) and kept in the database, while the bytes go to
``<dir>/<order id>/<random hex>.<ext>`` where ``ext`` comes from the content itself (magic bytes),
not from the name or the client's Content-Type. So a hostile name cannot choose where the file
lands or how it is served back. The checks and the size ceiling are
:mod:`maintenance.shared.files`, which asset documents use too.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy.orm import Session

from facility.core.errors import Conflict, TooLarge, UnsupportedMedia, WorkOrderError
from maintenance.shared.files import (
    MAX_FILE_BYTES,
    filename_problem,
    generated_name,
    path_inside,
    sniff_photo_type,
    write_new,
)
from maintenance.work_orders.models import Attachment, WorkOrder

__all__ = [
    "MAX_ATTACHMENT_BYTES",
    "AttachmentRejected",
    "attachment_path",
    "check_filename",
    "sniff_type",
    "store_attachment",
]

MAX_ATTACHMENT_BYTES = MAX_FILE_BYTES
MAX_ATTACHMENTS_PER_ORDER = 20
_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
}


class AttachmentRejected(WorkOrderError):
    """The upload has an unsafe name or is empty (422); the subclasses say what else."""


class AttachmentTooLarge(AttachmentRejected, TooLarge):
    """The file is over its size limit (413)."""


class AttachmentTypeRejected(AttachmentRejected, UnsupportedMedia):
    """The file is not of a type we keep, judged from its bytes (415)."""


class TooManyAttachments(AttachmentRejected, Conflict):
    """The order already keeps as many attachments as it may (409)."""


def check_filename(name: str) -> str:
    """Return ``name`` if it is a plain file name; refuse paths and odd characters."""
    problem = filename_problem(name)
    if problem is not None:
        raise AttachmentRejected(problem)
    return name


def sniff_type(head: bytes) -> str:
    """The content type from the first bytes (JPEG, PNG or WebP), else AttachmentRejected."""
    content_type = sniff_photo_type(head)
    if content_type is not None:
        return content_type
    raise AttachmentTypeRejected(
        "only JPEG, PNG or WebP photos are accepted (checked from the content)"
    )


def attachment_path(root: Path, attachment: Attachment) -> Path:
    """Where an attachment's bytes live; always inside ``root``."""
    path = path_inside(root, str(attachment.work_order_id), attachment.stored_name)
    if path is None:
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
        raise AttachmentTooLarge(
            f"the file is over {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB; send a smaller photo"
        )
    if not content:
        raise AttachmentRejected("the file is empty")
    if len(order.attachments) >= MAX_ATTACHMENTS_PER_ORDER:
        raise TooManyAttachments(f"an order keeps at most {MAX_ATTACHMENTS_PER_ORDER} attachments")
    content_type = sniff_type(content[:16])
    stored_name = generated_name(_TYPES[content_type])
    write_new(root / str(order.id), stored_name, content)
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
