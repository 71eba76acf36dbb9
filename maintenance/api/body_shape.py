"""The cheap look at a JSON body before any schema validates it: NULs and oversized objects.

Why before validation: FastAPI validates bodies on the event loop, and a 1 MB body with 55,000
unknown keys costs it ~1.4 s to list 55,000 "extra inputs are not permitted" errors (measured:
``pydantic ValidationError.errors()`` plus FastAPI's copy of them) while every other request,
``/healthz`` included, waits. No request body of ours has an object with more than a few dozen
members, so an object over :data:`MAX_OBJECT_MEMBERS` is refused here, in one pass over the
parsed value, with one 422 that names the path and the count.

The parse and the walk of a large body run in a worker thread (:func:`inspect_body_off_loop`),
so even this pass does not hold the loop: the GIL is handed back every few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool

__all__ = [
    "MAX_OBJECT_MEMBERS",
    "OFF_LOOP_BYTES",
    "BodyFindings",
    "inspect_body",
    "inspect_body_off_loop",
]

#: Members one JSON object of a request body may have.
MAX_OBJECT_MEMBERS = 1000
#: Bodies at least this large are parsed in a worker thread, smaller ones inline (a thread hop
#: costs more than parsing a few KiB).
OFF_LOOP_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class BodyFindings:
    """What the look found: a NUL anywhere, and the first object with too many members."""

    has_nul: bool
    #: Why the body is refused for its shape (names the object's path), or None.
    crowded: str | None = None


def inspect_body(body: bytes) -> BodyFindings:
    """Parse ``body`` (orjson) and walk it once; ``orjson.JSONDecodeError`` if it is not JSON."""
    if not body:
        return BodyFindings(has_nul=False)
    value = orjson.loads(body)
    stack: list[tuple[str, Any]] = [("body", value)]
    has_nul = False
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            has_nul = has_nul or "\x00" in item
        elif isinstance(item, dict):
            if len(item) > MAX_OBJECT_MEMBERS:
                return BodyFindings(
                    has_nul=has_nul,
                    crowded=f"{where} has {len(item)} members; an object of this API has at "
                    f"most {MAX_OBJECT_MEMBERS}: send only the documented fields",
                )
            for key, member in item.items():
                has_nul = has_nul or "\x00" in key
                stack.append((f"{where}.{key[:40]}", member))
        elif isinstance(item, list):
            inner = f"{where}[]"
            stack.extend((inner, member) for member in item)
    return BodyFindings(has_nul=has_nul)


async def inspect_body_off_loop(body: bytes) -> BodyFindings:
    """:func:`inspect_body`, in a worker thread when the body is large."""
    if len(body) < OFF_LOOP_BYTES:
        return inspect_body(body)
    return await run_in_threadpool(inspect_body, body)
