"""One file sent to an import route: the raw body, or the multipart field ``file``.

Import routes (asset CSV, Brick models) take both, because a script posts the file as the body
(``curl --data-binary @assets.csv``) and a browser form sends multipart; each reads it the same
way and refuses an empty or field-less upload with the same words.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

__all__ = ["read_import_file"]


async def read_import_file(request: Request, *, what: str) -> bytes:
    """The bytes of ``what`` (e.g. "the CSV file"); 422 when none was sent."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise HTTPException(422, f"send {what} as the multipart field 'file'")
        data = await upload.read()
    else:
        data = await request.body()
    if not data:
        raise HTTPException(422, f"the request body is empty; send {what}")
    return data
