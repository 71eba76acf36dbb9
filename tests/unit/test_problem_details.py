"""Errors become RFC 9457 problem details by their kind alone (maintenance/api/problems.py)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from facility.core.errors import (
    Conflict,
    FacilityError,
    Forbidden,
    Invalid,
    InvalidTransition,
    NotFound,
    ServiceUnavailable,
    TooLarge,
    Unavailable,
    UnsupportedMedia,
    WorkOrderError,
    WorkOrderNotFound,
    kind_of,
)
from maintenance.api import problems


class _Gone(WorkOrderError, NotFound):
    pass


RAISED: dict[str, tuple[BaseException, int]] = {
    "invalid": (Invalid("a field is wrong"), 422),
    "domain-base": (WorkOrderError("checklist incomplete"), 422),
    "not-found": (WorkOrderNotFound("work order 7 does not exist"), 404),
    "mixed-kind": (_Gone("gone"), 404),
    "conflict": (InvalidTransition("closed", "start", []), 409),
    "forbidden": (Forbidden("managers only"), 403),
    "unavailable": (ServiceUnavailable("InfluxDB answered nonsense"), 503),
    "too-large": (TooLarge("over 5 MiB"), 413),
    "media": (UnsupportedMedia("not a photo"), 415),
    "bare": (FacilityError("on purpose"), 422),
    "database": (
        OperationalError("UPDATE x", {}, Exception("attempt to write a readonly database")),
        503,
    ),
    "disk": (OSError(30, "Read-only file system", "/srv/facility/attachments/x.jpg"), 503),
    "bug": (KeyError("count"), 500),
}


def _app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.get("/raise/{name}")
    def raise_(name: str) -> None:
        raise RAISED[name][0]

    return app


APP = _app()


def get(name: str) -> httpx.Response:
    """One request through the ASGI app in-process (no server: this is the mapping alone)."""

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=APP, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(f"/raise/{name}")

    return asyncio.run(call())


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.allow_logged_errors) if name == "bug" else name
        for name in sorted(RAISED)
    ],
)
def test_each_error_kind_answers_its_status_as_problem_details(name: str) -> None:
    response = get(name)
    assert response.status_code == RAISED[name][1]
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == response.status_code
    assert body["type"].startswith("urn:facility:problem:")
    assert body["title"] and body["detail"]


def test_a_storage_error_does_not_show_the_servers_paths() -> None:
    body = get("disk").json()
    assert "Read-only file system" in body["detail"]
    assert "/srv/facility" not in body["detail"]


@pytest.mark.allow_logged_errors
def test_an_unexpected_error_shows_no_traceback() -> None:
    body = get("bug").json()
    assert "Traceback" not in body["detail"] and "count" not in body["detail"]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (WorkOrderNotFound("x"), NotFound),
        (InvalidTransition("a", "b", []), Conflict),
        (WorkOrderError("x"), Invalid),
        (FacilityError("x"), Invalid),
        (ServiceUnavailable("x"), Unavailable),
    ],
)
def test_the_more_specific_kind_wins(error: FacilityError, kind: type[FacilityError]) -> None:
    assert kind_of(error) is kind
