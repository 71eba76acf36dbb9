"""Brick import and export over HTTP: roles, all-or-nothing, and the points of live devices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import rdflib

from facility.core.types import Reading
from tests.integration._work_order_server import ApiServer, running_api

DATA = Path(__file__).parents[1] / "data" / "brick"
TURTLE = {"Content-Type": "text/turtle"}
TIMEOUT = httpx.Timeout(120.0)


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path, auto_assign=False) as server:
        yield server


def _codes(client: httpx.Client) -> list[str]:
    return [a["code"] for a in client.get("/api/v1/assets", timeout=TIMEOUT).json()]


def test_anonymous_callers_get_401_and_only_managers_import(api: ApiServer) -> None:
    model = (DATA / "hq-plant.ttl").read_bytes()
    for method, path in (
        ("POST", "/api/v1/assets/import-brick"),
        ("GET", "/api/v1/assets/export.ttl"),
    ):
        response = httpx.request(method, f"{api.url}{path}", content=model, timeout=TIMEOUT)
        assert response.status_code == 401
    for user in ("tech", "requester"):
        with api.client(user) as client:
            refused = client.post(
                "/api/v1/assets/import-brick", content=model, headers=TURTLE, timeout=TIMEOUT
            )
            assert refused.status_code == 403
            assert client.get("/api/v1/assets/export.ttl", timeout=TIMEOUT).status_code == 200
    with api.client("admin") as client:
        assert "VAV-301" not in _codes(client)


def test_a_manager_imports_a_model_and_a_broken_one_changes_nothing(api: ApiServer) -> None:
    model = (DATA / "hq-plant.ttl").read_bytes()
    with api.client("manager") as client:
        dry = client.post(
            "/api/v1/assets/import-brick",
            params={"dry_run": "true"},
            content=model,
            headers=TURTLE,
            timeout=TIMEOUT,
        )
        assert dry.status_code == 200, dry.text
        assert dry.json()["dry_run"] and dry.json()["created"] > 0
        assert "VAV-301" not in _codes(client)

        done = client.post(
            "/api/v1/assets/import-brick",
            files={"file": ("hq.ttl", model, "text/turtle")},
            timeout=TIMEOUT,
        )
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["site"] == "hq" and body["created"] == dry.json()["created"]
        assert {"kind": "no_metric", "subject": "AHU-1.start", "detail": "Start_Stop_Command"} in (
            body["notes"]
        )
        before = _codes(client)
        assert {"AHU-1", "VAV-301", "B1-F3"} <= set(before)

        broken = model.replace(b"hq:VAV-302 a brick:VAV", b"hq:VAV-302 a a", 1)
        assert broken != model
        refused = client.post(
            "/api/v1/assets/import-brick", content=broken, headers=TURTLE, timeout=TIMEOUT
        )
        assert refused.status_code == 422
        problem = refused.json()
        assert "line" in problem["detail"] and "nothing changed" in problem["detail"]
        assert problem["errors"][0]["field"] == "model"
        assert _codes(client) == before

        for bad, status in ((b"", 422), (b"\x00" * 10, 422), (b"#" * (1024 * 1024 + 1), 413)):
            answer = client.post(
                "/api/v1/assets/import-brick", content=bad, headers=TURTLE, timeout=TIMEOUT
            )
            assert answer.status_code == status, answer.text
        assert _codes(client) == before
        wrong = client.post(
            "/api/v1/assets/import-brick",
            params={"site": "x" * 65},
            content=model,
            headers=TURTLE,
            timeout=TIMEOUT,
        )
        assert wrong.status_code == 422


def test_the_export_types_points_by_the_metrics_devices_reported(api: ApiServer) -> None:
    model = (DATA / "hq-plant.ttl").read_bytes()
    with api.client("manager") as client:
        imported = client.post(
            "/api/v1/assets/import-brick", content=model, headers=TURTLE, timeout=TIMEOUT
        )
        assert imported.status_code == 200, imported.text
    ts = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    api.context.states.record(  # type: ignore[attr-defined]
        [Reading(device="vav-301", metric="temperature", value=21.5, unit="degC", ts=ts)]
    )
    with api.client("tech") as client:
        response = client.get("/api/v1/assets/export.ttl", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    query = """
        PREFIX brick: <https://brickschema.org/schema/Brick#>
        PREFIX ref: <https://brickschema.org/schema/Brick/ref#>
        SELECT ?cls WHERE {
            ?vav brick:hasPoint ?p . ?p a ?cls ; ref:hasExternalReference ?r .
            ?r ref:hasTimeseriesId "vav-301" }"""
    classes = [str(row[0]).rpartition("#")[2] for row in graph.query(query)]  # type: ignore[index]
    assert classes == ["Zone_Air_Temperature_Sensor"]
