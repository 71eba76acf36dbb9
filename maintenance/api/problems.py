"""Every error the API answers, as RFC 9457 problem details (``application/problem+json``).

The one place where errors become HTTP: a domain raises an error of a *kind* (the kernel's tree,
:mod:`facility.core.errors`) and :func:`install` maps the kind to a status, as Starlette maps
exception classes to responses in one table. Routes do not catch service errors; no status is
ever chosen from an error's text. FastAPI's own refusals (``HTTPException``, request validation)
and the body-size and NUL guards answer in the same shape, and :func:`document` tells the
OpenAPI schema so, so a generated client parses every refusal with one model:

```json
{"type": "urn:facility:problem:invalid", "title": "Invalid request", "status": 422,
 "detail": "2 problems in the request", "errors": [{"field": "body.title", "reason": "..."}]}
```

A database that is down, locked or read-only (``OperationalError``) and a disk that fails
(``OSError``) are 503s to retry; any other unexpected exception is a 500 problem whose detail
says where to look (the server log), never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from itertools import islice
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from facility.core.errors import (
    Conflict,
    FacilityError,
    Forbidden,
    Invalid,
    NotFound,
    TooLarge,
    Unavailable,
    UnsupportedMedia,
    kind_of,
)

__all__ = [
    "MAX_LISTED_ERRORS",
    "PROBLEM_MEDIA_TYPE",
    "FieldError",
    "Problem",
    "document",
    "install",
    "problem_response",
    "status_of",
]

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"

#: Status of each error kind; the first matching kind in ``ERROR_KINDS`` order decides.
_STATUS: Mapping[type[FacilityError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    Unavailable: 503,
    TooLarge: 413,
    UnsupportedMedia: 415,
    Invalid: 422,
}

_TYPE_SLUG = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media",
    422: "invalid",
    429: "too-many-requests",
    500: "internal",
    503: "unavailable",
}


class FieldError(BaseModel):
    """One refused part of the request: where (``body.title``, ``query.limit``) and why."""

    field: str = Field(description="where: body.<path>, query.<name>, path.<name>, header.<name>")
    reason: str = Field(description="why the value was refused, in words")
    line: int | None = Field(default=None, description="for an uploaded file: its line (1-based)")
    column: str | None = Field(default=None, description="for an uploaded file: its column")


class Problem(BaseModel):
    """RFC 9457 problem details: what every error response of the API carries."""

    type: str = Field(
        description="a URI naming the kind of problem, e.g. urn:facility:problem:invalid"
    )
    title: str = Field(description="the kind of problem in words (same for every instance)")
    status: int = Field(ge=400, le=599, description="the HTTP status, repeated for convenience")
    detail: str = Field(description="what went wrong this time and what to do about it")
    errors: list[FieldError] | None = Field(
        default=None, description="for invalid requests: every refused field, not only the first"
    )


def status_of(error: FacilityError) -> int:
    """The HTTP status of a domain error, decided by its kind alone."""
    return _STATUS.get(kind_of(error), 422)


def problem_response(
    status: int,
    detail: str,
    *,
    errors: Sequence[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response; usable from middleware that runs outside FastAPI's handlers."""
    body = Problem(
        type=f"urn:facility:problem:{_TYPE_SLUG.get(status, str(status))}",
        title=_title(status),
        status=status,
        detail=detail,
        errors=list(errors) if errors is not None else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),  # absent, not null: optional members are omitted
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers) if headers else None,
    )


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _field_errors(error: FacilityError) -> list[FieldError] | None:
    """Errors that carry several findings (a CSV import) list them as field errors."""
    findings = getattr(error, "field_errors", None)
    if not findings:
        return None
    return [FieldError.model_validate(finding) for finding in findings]


def _location(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc) or "request"


async def _on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FacilityError)
    status = status_of(exc)
    if status == 503:
        log.warning("answered 503: %s", exc)
    return problem_response(status, str(exc), errors=_field_errors(exc))


async def _on_http_exception(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else _title(exc.status_code)
    return problem_response(exc.status_code, detail, headers=exc.headers)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    """A 422 that lists at most :data:`MAX_LISTED_ERRORS` problems, each field and reason cut
    short, and never the rejected input: a hostile body must not buy a response many times its
    own size (55,000 unknown keys used to answer 3.7 MB, built in 2 s on the event loop)."""
    assert isinstance(exc, RequestValidationError)
    found = exc.errors()
    errors = [
        FieldError(
            field=_clip(_location(error.get("loc", ())), _MAX_FIELD_CHARS),
            reason=_clip(str(error.get("msg", "invalid")), _MAX_REASON_CHARS),
        )
        for error in islice(found, MAX_LISTED_ERRORS)
    ]
    count = len(found)
    detail = f"{count} problem{'s' if count != 1 else ''} in the request"
    if count > len(errors):
        detail += f" (the first {len(errors)} are listed)"
    detail += ": " + "; ".join(f"{e.field}: {e.reason}" for e in errors[:3])
    return problem_response(422, detail[:1000], errors=errors)


#: How many problems a 422 lists, and how long a field path or reason in it may be.
MAX_LISTED_ERRORS = 20
_MAX_FIELD_CHARS = 120
_MAX_REASON_CHARS = 300


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def _on_database_error(_request: Request, exc: Exception) -> JSONResponse:
    """The database is down, locked or read-only: a 503 to retry, not a 500 to report."""
    log.warning("database unavailable while answering a request: %s", exc)
    return problem_response(
        503,
        "the work-order database is unavailable, locked or read-only; retry shortly, and if it "
        "persists check the database server, its disk and FACILITY_DATABASE_URL",
    )


async def _on_storage_error(_request: Request, exc: Exception) -> JSONResponse:
    """A file could not be read or written (disk full, read-only, missing mount)."""
    assert isinstance(exc, OSError)
    log.warning("storage error while answering a request: %s", exc)
    reason = exc.strerror or type(exc).__name__  # no path: it would show the server's layout
    return problem_response(
        503, f"the server's storage failed ({reason}); retry later or check the data directory"
    )


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error answering a request", exc_info=exc)
    return problem_response(500, "internal error; the server log has the details")


def install(app: FastAPI) -> None:
    """Register the handlers and the OpenAPI description on ``app``."""
    app.add_exception_handler(FacilityError, _on_domain_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(OperationalError, _on_database_error)
    app.add_exception_handler(OSError, _on_storage_error)
    app.add_exception_handler(Exception, _on_unexpected)
    app.openapi = lambda: document(app)  # type: ignore[method-assign]


_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI schema, with every error response declared as a problem document.

    FastAPI declares a 422 of its own ``HTTPValidationError`` shape; we answer problem details,
    so each operation's 422 is rewritten and a ``default`` response covers the other refusals
    (401, 403, 404, 409, 413, 415, 429, 503): every one of them is a ``Problem``.
    """
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["FieldError"] = FieldError.model_json_schema()
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components["Problem"].pop("$defs", None)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, response in responses.items():
                if status != "default" and int(status) >= 400:
                    response["content"] = _PROBLEM_CONTENT  # what we really answer
                    if status == "422":
                        response["description"] = "Invalid request"
            responses.setdefault(
                "default", {"description": "Refused or failed", "content": _PROBLEM_CONTENT}
            )
    app.openapi_schema = schema
    return schema
