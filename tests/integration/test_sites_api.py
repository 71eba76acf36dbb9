"""``/api/v1/sites`` over HTTP on SQLite and PostgreSQL: roles, time zones, hostile input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from maintenance.assets.register import ensure_asset, ensure_site
from tests.integration._work_order_server import ApiServer, running_api


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path, auto_assign=False) as server:
        yield server


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/sites"), ("POST", "/api/v1/sites"), ("PATCH", "/api/v1/sites/hq")],
)
def test_anonymous_requests_are_refused_with_401(api: ApiServer, method: str, path: str) -> None:
    assert httpx.request(method, f"{api.url}{path}", json={}, timeout=30).status_code == 401


def test_managers_add_and_change_sites_and_everyone_reads_them(api: ApiServer) -> None:
    with api.client("tech") as tech:
        assert tech.post("/api/v1/sites", json={"code": "hq"}).status_code == 403
    with api.client("manager") as manager:
        created = manager.post(
            "/api/v1/sites", json={"code": "hq", "name": "Head office", "timezone": "Europe/Berlin"}
        )
        assert created.status_code == 201, created.text
        assert created.json() == {
            "code": "hq",
            "name": "Head office",
            "timezone": "Europe/Berlin",
            "assets": 0,
        }
        default = manager.post("/api/v1/sites", json={"code": "annex"}).json()
        assert (default["name"], default["timezone"]) == ("annex", "UTC")
    with api.sessions() as session:
        ensure_asset(session, code="AHU-1").site_id = ensure_site(session, code="hq").id
        session.commit()
    with api.client("tech") as tech:
        listed = tech.get("/api/v1/sites").json()
        assert [(s["code"], s["assets"]) for s in listed] == [("annex", 0), ("hq", 1)]
        assert tech.patch("/api/v1/sites/hq", json={"timezone": "UTC"}).status_code == 403
    with api.client("admin") as admin:
        moved = admin.patch("/api/v1/sites/annex", json={"timezone": "Asia/Shanghai"})
        assert moved.status_code == 200, moved.text
        assert moved.json()["timezone"] == "Asia/Shanghai" and moved.json()["name"] == "annex"
        renamed = admin.patch("/api/v1/sites/annex", json={"name": "Annex B"}).json()
        assert (renamed["name"], renamed["timezone"]) == ("Annex B", "Asia/Shanghai")


def test_the_sites_time_zone_sets_the_monthly_reviews_month(api: ApiServer) -> None:
    """October 2026 in Berlin starts at 22:00 UTC on 30 September; in UTC at midnight."""
    api.clock.now = datetime(2026, 11, 3, tzinfo=UTC)
    query = {"site": "hq", "month": "2026-10"}
    with api.client("manager") as manager:
        assert manager.post("/api/v1/sites", json={"code": "hq"}).status_code == 201
        before = manager.get("/api/v1/reviews/monthly", params=query).json()
        assert before["start"] == "2026-10-01T00:00:00Z"
        assert manager.patch("/api/v1/sites/hq", json={"timezone": "Europe/Berlin"}).is_success
        after = manager.get("/api/v1/reviews/monthly", params=query).json()
        assert after["start"] == "2026-09-30T22:00:00Z"
        assert after["site"]["timezone"] == "Europe/Berlin"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"code": "hq", "timezone": "Mars/Olympus"}, "not an IANA zone"),
        ({"code": "hq", "timezone": "europe/berlin"}, "did you mean Europe/Berlin"),
        ({"code": "hq", "timezone": "../../../etc/passwd"}, "not an IANA zone"),
        ({"code": "hq", "timezone": "Europe/Berlin\x00"}, "NUL character"),
        ({"code": "hq", "timezone": "Europe/Berlin\n"}, "IANA name"),
        ({"code": "hq", "timezone": 3}, "timezone"),
        ({"code": "h q"}, "code"),
        ({"code": ""}, "code"),
        ({"code": "x" * 65}, "code"),
        ({"code": ["hq"]}, "code"),
        ({"code": "hq", "name": "a\x1b[31mred"}, "printable"),
        ({"code": "hq", "name": "n" * 201}, "name"),
        ({"code": "hq", "colour": "red"}, "colour"),
        ({}, "code"),
    ],
)
def test_malformed_sites_are_422_and_nothing_is_added(
    api: ApiServer, body: dict[str, object], reason: str
) -> None:
    with api.client("admin") as admin:
        response = admin.post("/api/v1/sites", json=body)
        assert response.status_code == 422, response.text
        assert reason in response.text
        assert admin.get("/api/v1/sites").json() == []


def test_unknown_and_duplicate_sites_are_clean_errors_and_change_nothing(api: ApiServer) -> None:
    with api.client("admin") as admin:
        assert admin.post("/api/v1/sites", json={"code": "hq", "name": "HQ"}).status_code == 201
        again = admin.post("/api/v1/sites", json={"code": "hq", "name": "Other"})
        assert again.status_code == 409 and "exists already" in again.json()["detail"]
        missing = admin.patch("/api/v1/sites/nope", json={"timezone": "UTC"})
        assert missing.status_code == 404 and "nope" in missing.json()["detail"]
        assert admin.get("/api/v1/sites/" + "x" * 65).status_code == 422
        assert admin.get("/api/v1/sites/%2e%2e%2fetc").status_code == 404
        bad = admin.patch("/api/v1/sites/hq", json={"timezone": "Nowhere/City", "name": "New"})
        assert bad.status_code == 422
        assert admin.patch("/api/v1/sites/hq", json={"code": "other"}).status_code == 422
        assert admin.patch("/api/v1/sites/hq", content=b"{not json").status_code == 422
        assert admin.get("/api/v1/sites/hq").json() == {
            "code": "hq",
            "name": "HQ",
            "timezone": "UTC",
            "assets": 0,
        }
