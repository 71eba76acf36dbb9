"""Files people upload (order photos, asset documents), stored on disk under generated names.

The user's file name is only ever *shown*: it is checked (no path separators, no ``..``, no
control characters) and kept in the database, while the bytes go to ``<folder>/<random
hex>.<ext>`` where ``ext`` comes from the content itself (magic bytes), not from the name or the
client's Content-Type. So a hostile name cannot choose where the file lands or how it is served
back. Order photos (:mod:`maintenance.work_orders.attachments`) and asset documents
(:mod:`maintenance.assets.documents`) share these rules and this size ceiling; each keeps its own
error type, the types it accepts and the folder its files go to.

The checks return what is wrong (or the sniffed type) rather than raise, so each caller raises
its own error with its own HTTP status.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

__all__ = [
    "MAX_FILE_BYTES",
    "filename_problem",
    "generated_name",
    "path_inside",
    "sniff_photo_type",
    "write_new",
]

#: One ceiling for every upload: the API's upload body limit is sized for it.
MAX_FILE_BYTES = 5 * 1024 * 1024
_NAME_RE = re.compile(r"^[\w][\w .()+-]{0,119}$")


def filename_problem(name: str, *, example: str = "photo.jpg") -> str | None:
    """Why ``name`` is not a plain file name we keep (None when it is); ``example`` is quoted."""
    if not name or len(name) > 120:
        return "the file name must be 1-120 characters"
    if "/" in name or "\\" in name or ".." in name or "\x00" in name:
        return f"file name {name[:60]!r} looks like a path; send a plain name such as {example}"
    if not _NAME_RE.match(name):
        return (
            f"file name {name[:60]!r} has characters we do not keep; use letters, digits, "
            "space and . _ - ( ) +"
        )
    return None


def sniff_photo_type(head: bytes) -> str | None:
    """The content type from the first bytes (JPEG, PNG or WebP), else None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def generated_name(extension: str) -> str:
    """A fresh stored name: 32 random hex digits and ``extension`` (e.g. ``".jpg"``)."""
    return secrets.token_hex(16) + extension


def path_inside(base: Path, *parts: str) -> Path | None:
    """``base/parts...`` resolved, or None when it would land outside ``base``."""
    resolved_base = base.resolve()
    path = resolved_base.joinpath(*parts).resolve()
    if resolved_base not in path.parents:
        return None
    return path


def write_new(folder: Path, stored_name: str, content: bytes) -> Path:
    """Write ``content`` to ``folder/stored_name`` (creating the folder), never overwriting."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / stored_name
    with path.open("xb") as handle:
        handle.write(content)
    return path
