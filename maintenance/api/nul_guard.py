"""Refuse NUL characters in query strings, JSON and form bodies before any route sees them.

PostgreSQL text cannot hold U+0000 and SQLite stores it silently, so the same request would be a
server error on one database and a hidden poison value on the other. One ASGI middleware gives
every endpoint the same clear 422 instead of each schema repeating the check. Multipart uploads
(photos) are binary and pass through untouched.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maintenance.api.body_shape import BodyFindings, inspect_body_off_loop
from maintenance.api.problems import problem_response

__all__ = ["NulGuard", "contains_nul"]

_CHECKED_BODIES = (b"application/json", b"application/x-www-form-urlencoded")


def contains_nul(value: Any) -> bool:
    """True if a parsed JSON value holds a NUL anywhere (keys included)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _lone_surrogate(body: bytes) -> bool:
    """True if the body is JSON that only a lax parser takes: an unpaired ``\\uD8xx`` escape.

    orjson refuses such strings, Python's json module (FastAPI's) decodes them into a ``str`` no
    database or encoder can write, which used to end as a 500 deep inside a route.
    """
    if b"\\u" not in body and b"\\U" not in body:
        return False
    try:
        value = json.loads(body)
    except ValueError:
        return False
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any("\ud800" <= char <= "\udfff" for char in item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _refusal(where: str) -> JSONResponse:
    return problem_response(
        422, f"the {where} contains a NUL character (U+0000), which no field accepts"
    )


class NulGuard:
    """See the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"\x00" in unquote_to_bytes(scope.get("query_string", b"")) or "\x00" in scope.get(
            "path", ""
        ):
            await _refusal("URL")(scope, receive, send)
            return
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"").lower()
        if not content_type.startswith(_CHECKED_BODIES):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if content_type.startswith(b"application/json"):
            try:
                findings = await inspect_body_off_loop(body)  # NULs and oversized objects
            except orjson.JSONDecodeError:
                if _lone_surrogate(body):
                    await problem_response(
                        422,
                        "the request body contains an unpaired UTF-16 surrogate (\\uD800-\\uDFFF),"
                        " which is not text; send valid UTF-8",
                    )(scope, receive, send)
                    return
                findings = BodyFindings(has_nul=False)  # malformed: FastAPI explains that
            if findings.crowded is not None:
                await problem_response(422, findings.crowded)(scope, receive, send)
                return
            poisoned = findings.has_nul
        else:
            poisoned = b"\x00" in unquote_to_bytes(body.replace(b"+", b" "))
        if poisoned:
            await _refusal("request body")(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
