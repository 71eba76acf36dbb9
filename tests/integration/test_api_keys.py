"""Machine API keys: created once by an admin, act with their own role and name, revocable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration._work_order_server import ApiServer, running_api


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path) as server:
        yield server


def test_a_machine_key_acts_with_its_role_and_name_until_revoked(api: ApiServer) -> None:
    with api.client("admin") as admin:
        created = admin.post("/api/v1/api-keys", json={"name": "bms", "role": "manager"})
        assert created.status_code == 201, created.text
        key = created.json()["key"]
        listed = admin.get("/api/v1/api-keys").json()

        machine = httpx.Client(base_url=api.url, headers={"X-API-Key": key}, timeout=30)
        order = machine.post(
            "/api/v1/work-orders",
            json={"title": "BMS alarm 17", "location": "Plant"},
            headers={"Idempotency-Key": "bms-17"},
        )
        assert admin.delete("/api/v1/api-keys/bms").status_code == 204
        after = machine.get("/api/v1/work-orders")
        machine.close()

    assert key.startswith("fac_") and len(key) > 40
    assert [k["name"] for k in listed] == ["bms"] and "key" not in listed[0]
    assert order.status_code == 201
    assert order.json()["created_by"] == "key:bms"
    assert order.json()["events"][0]["actor"] == "key:bms"
    assert after.status_code == 401
    assert "revoked" in after.json()["detail"]


def test_only_admins_manage_keys_and_bad_requests_are_refused(api: ApiServer) -> None:
    with api.client("manager") as manager:
        assert (
            manager.post("/api/v1/api-keys", json={"name": "x", "role": "tech"}).status_code == 403
        )
        assert manager.get("/api/v1/api-keys").status_code == 403
    assert httpx.get(f"{api.url}/api/v1/api-keys", timeout=60).status_code == 401
    with api.client("admin") as admin:
        answers = [
            admin.post("/api/v1/api-keys", json=body).status_code
            for body in (
                {"name": "root", "role": "admin"},
                {"name": "../etc", "role": "tech"},
                {"name": "x" * 57, "role": "tech"},
                {"name": "ok", "role": "tech", "extra": 1},
                {"name": "ok"},
            )
        ]
        assert answers == [422] * 5
        assert (
            admin.post("/api/v1/api-keys", json={"name": "ok", "role": "tech"}).status_code == 201
        )
        assert (
            admin.post("/api/v1/api-keys", json={"name": "ok", "role": "tech"}).status_code == 409
        )
        assert admin.delete("/api/v1/api-keys/nope").status_code == 404
    for bogus in ("fac_" + "A" * 43, "not-a-key", "fac_" + "x" * 5000):
        response = httpx.get(
            f"{api.url}/api/v1/work-orders", headers={"X-API-Key": bogus}, timeout=60
        )
        assert response.status_code in (401, 431), (bogus[:10], response.status_code)
