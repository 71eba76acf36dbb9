"""NUL bytes, which PostgreSQL text cannot hold, are a 422 everywhere, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration._work_order_server import ApiServer, running_api


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path) as server:
        yield server


def test_nul_in_a_json_body_is_refused_and_nothing_is_created(api: ApiServer) -> None:
    with api.client("manager") as manager:
        response = manager.post(
            "/api/v1/work-orders", json={"title": "leak\u0000", "location": "basement"}
        )
        assert response.status_code == 422
        assert "NUL" in response.text
        assert manager.get("/api/v1/work-orders").json()["total"] == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/work-orders?asset=AHU%00",
        "/api/v1/readings?device=x%00",
        "/api/v1/work-orders?assignee=%00",
    ],
)
def test_nul_in_a_query_parameter_is_refused(api: ApiServer, path: str) -> None:
    with api.client("manager") as manager:
        response = manager.get(path)
    assert response.status_code == 422, response.text
    assert "NUL" in response.text
