"""Photo attachments on work orders, stored on disk under generated names.

The user's file name is only ever *shown*: it is checked (no path separators, no ``..``, no
control characters) and kept in the database, while the bytes go to
``<dir>/<order id>/<random hex>.<ext>`` where ``ext`` comes from the content itself (magic bytes),
not from the name or the client's Content-Type. So a hostile name cannot choose where the file
lands or how it is served back. The checks and the size ceiling are
:mod:`maintenance.shared.files`, which asset documents use too. The name shown (and offered
when the file is downloaded) keeps the user's stem but gets *our* extension: ``x.html`` that is
really a PNG becomes ``x.png``, so no download lands as a page a browser would run.

Space is bounded twice, because one account (or one order) must not fill the disk that the
readings spool shares: a per-order and a per-user byte quota (``FACILITY_ATTACHMENT_QUOTA_*``),
both answered with 413 and the figures. A technician attaches only to orders they work
(assigned to them or their team), not to the unassigned pool they can only read.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from sqlalchemy.orm import Session

from facility.core.errors import Conflict, Forbidden, TooLarge, UnsupportedMedia, WorkOrderError
from maintenance.shared.actors import Actor
from maintenance.shared.files import (
    MAX_FILE_BYTES,
    filename_problem,
    generated_name,
    path_inside,
    sniff_photo_type,
    write_new,
)
from maintenance.shared.vocabulary import Role
from maintenance.work_orders.models import Attachment, WorkOrder

__all__ = [
    "MAX_ATTACHMENT_BYTES",
    "QUOTA_PER_ORDER_BYTES",
    "QUOTA_PER_USER_BYTES",
    "AttachmentForbidden",
    "AttachmentRejected",
    "QuotaExceeded",
    "attachment_path",
    "check_filename",
    "shown_name",
    "sniff_type",
    "store_attachment",
]

MAX_ATTACHMENT_BYTES = MAX_FILE_BYTES
MAX_ATTACHMENTS_PER_ORDER = 20
#: Defaults of ``FACILITY_ATTACHMENT_QUOTA_PER_ORDER_BYTES`` / ``..._PER_USER_BYTES``.
QUOTA_PER_ORDER_BYTES = 100 * 1024 * 1024
QUOTA_PER_USER_BYTES = 500 * 1024 * 1024
_MIB = 1024 * 1024
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


class AttachmentForbidden(AttachmentRejected, Forbidden):
    """This caller may read the order but not add files to it (403)."""


class QuotaExceeded(AttachmentRejected, TooLarge):
    """The order's or the uploader's attachments would exceed their quota (413)."""


def shown_name(filename: str, extension: str) -> str:
    """The user's stem with our extension: ``"fault.HTML"`` of a PNG → ``"fault.png"``."""
    stem = PurePosixPath(filename).stem.strip(" .") or "photo"
    return f"{stem[: 120 - len(extension)]}{extension}"


def _check_may_attach(order: WorkOrder, actor: Actor, team: str | None) -> None:
    if actor.role is not Role.TECH:
        return  # others reach here only for orders they own (the read scope decides)
    if order.assignee == actor.username or (team is not None and order.team == team):
        return
    raise AttachmentForbidden(
        f"work order {order.id} is not assigned to you or your team; take it from the pool "
        "(or ask a manager to assign it) before attaching photos"
    )


def _check_quota(
    session: Session,
    *,
    order: WorkOrder,
    uploaded_by: str,
    size: int,
    per_order_bytes: int,
    per_user_bytes: int,
) -> None:
    used_by_order = sum(a.size_bytes for a in order.attachments)
    if used_by_order + size > per_order_bytes:
        raise QuotaExceeded(
            f"work order {order.id} already keeps {used_by_order / _MIB:.1f} MiB of attachments "
            f"and may keep {per_order_bytes / _MIB:.1f} MiB; remove an old photo or send a "
            "smaller one"
        )
    used_by_user = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Attachment.size_bytes), 0)).where(
            Attachment.uploaded_by == uploaded_by
        )
    )
    if int(used_by_user or 0) + size > per_user_bytes:
        raise QuotaExceeded(
            f"you have uploaded {int(used_by_user or 0) / _MIB:.1f} MiB of attachments, the "
            f"most one user may keep is {per_user_bytes / _MIB:.1f} MiB; ask a manager to raise "
            "FACILITY_ATTACHMENT_QUOTA_PER_USER_BYTES"
        )


def store_attachment(
    session: Session,
    *,
    root: Path,
    order: WorkOrder,
    filename: str,
    content: bytes,
    uploaded_by: str,
    actor: Actor | None = None,
    team: str | None = None,
    quota_per_order_bytes: int = QUOTA_PER_ORDER_BYTES,
    quota_per_user_bytes: int = QUOTA_PER_USER_BYTES,
) -> Attachment:
    """Write the bytes and the row; the caller commits (and audits).

    ``actor`` (with the technician's ``team``) is checked for the right to attach; the CLI and
    internal callers that pass none are trusted."""
    check_filename(filename)
    if actor is not None:
        _check_may_attach(order, actor, team)
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise AttachmentTooLarge(
            f"the file is over {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB; send a smaller photo"
        )
    if not content:
        raise AttachmentRejected("the file is empty")
    if len(order.attachments) >= MAX_ATTACHMENTS_PER_ORDER:
        raise TooManyAttachments(f"an order keeps at most {MAX_ATTACHMENTS_PER_ORDER} attachments")
    content_type = sniff_type(content[:16])
    _check_quota(
        session,
        order=order,
        uploaded_by=uploaded_by,
        size=len(content),
        per_order_bytes=quota_per_order_bytes,
        per_user_bytes=quota_per_user_bytes,
    )
    extension = _TYPES[content_type]
    stored_name = generated_name(extension)
    write_new(root / str(order.id), stored_name, content)
    attachment = Attachment(
        filename=shown_name(filename, extension),
        stored_name=stored_name,
        content_type=content_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=uploaded_by,
    )
    order.attachments.append(attachment)
    return attachment
