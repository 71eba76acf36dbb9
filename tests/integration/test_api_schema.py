"""The OpenAPI document tells the truth: schemathesis over the whole API, as admin.

Every operation is driven through schemathesis' coverage phase (boundary and just-outside
values derived from the schema's own constraints) and fuzzing phase (random valid and invalid
requests), and every answer is checked with ``not_a_server_error`` and
``response_schema_conformance``: no 5xx, and every body (errors included: RFC 9457 problem
details) matches what the schema declares for that operation and status.

The app is driven in-process through ASGI (schemathesis' own client), against a real SQLite
database migrated with Alembic and seeded like the other API tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from openapi_spec_validator import validate
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from maintenance.api.problems import PROBLEM_MEDIA_TYPE
from tests.integration._work_order_server import ApiServer, _app_for, running_api

pytestmark = pytest.mark.integration

#: Examples per operation and phase: enough to reach every handler (the run sees 200, 201,
#: 404, 409 and 422 answers), small enough for CI (about a minute on two loaded cores).
MAX_EXAMPLES = 10


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    tmp = tmp_path_factory.mktemp("schema")
    with running_api(f"sqlite:///{tmp / 'facility.db'}", tmp) as server:
        yield server


def _config(token: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_str(
        f"""
headers = {{ Authorization = "{token}" }}
[phases.examples]
enabled = false
[phases.stateful]
enabled = false
[phases.coverage]
enabled = true
[phases.fuzzing]
enabled = true
[generation]
max-examples = {MAX_EXAMPLES}
[checks]
enabled = false
[checks.not_a_server_error]
enabled = true
[checks.response_schema_conformance]
enabled = true
"""
    )


def test_schemathesis_coverage_and_fuzzing_find_no_failure_over_the_whole_api(
    api_server: ApiServer,
) -> None:
    # The engine, not the pytest plugin: the plugin's fixture mode does not run on pytest 9.
    with api_server.client("admin") as client:
        token = str(client.headers["Authorization"])
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", _app_for(api_server.context), config=_config(token)
    )
    failures: list[str] = []
    errors: list[str] = []
    checks: Counter[str] = Counter()
    answers: Counter[int] = Counter()
    phases: set[str] = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            phases.add(str(event.phase))
            for results in event.recorder.checks.values():
                for check in results:
                    checks[check.name] += 1
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        failure = check.failure_info.failure
                        failures.append(f"{event.label}: {check.name}: {failure.title}")
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    answers[interaction.response.status_code] += 1
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(f"{getattr(event, 'label', '')}: {getattr(event, 'value', event)}")
    assert errors == []
    assert sorted(set(failures)) == []
    # the checks really ran, in both phases, and the requests reached the handlers
    assert checks["not_a_server_error"] > 1000, checks
    assert checks["response_schema_conformance"] > 1000, checks
    assert {"coverage", "fuzzing"} <= phases, phases
    assert {200, 201, 404, 422} <= set(answers), answers


def test_the_openapi_document_is_valid_and_declares_problem_details(api_server: ApiServer) -> None:
    document = _app_for(api_server.context).openapi()
    validate(document)  # openapi-spec-validator: raises on an invalid document
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])
    operations = [
        operation
        for path_item in document["paths"].values()
        for operation in path_item.values()
        if isinstance(operation, dict) and "responses" in operation
    ]
    assert len(operations) > 50
    for operation in operations:
        for status, response in operation["responses"].items():
            if status == "default" or int(status) >= 400:
                assert PROBLEM_MEDIA_TYPE in response["content"], (operation["operationId"], status)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_a_validation_error_lists_every_refused_field_as_problem_details(
    api_server: ApiServer,
) -> None:
    with api_server.client("admin") as client:
        response = client.post("/api/v1/work-orders", json={"title": 5, "priority": "P9"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
    body = response.json()
    assert body["status"] == 422
    assert body["type"] == "urn:facility:problem:invalid"
    fields = {error["field"] for error in body["errors"]}
    assert {"body.title", "body.priority"} <= fields, fields


def test_a_missing_record_is_a_404_problem_decided_by_the_error_kind(
    api_server: ApiServer,
) -> None:
    with api_server.client("admin") as client:
        response = client.get("/api/v1/work-orders/99999")
    assert response.status_code == 404
    assert response.json()["type"] == "urn:facility:problem:not-found"
    assert "99999" in response.json()["detail"]


def test_an_anonymous_change_is_a_401_problem_with_the_bearer_challenge(
    api_server: ApiServer,
) -> None:
    with httpx.Client(base_url=api_server.url, timeout=60) as client:
        response = client.post("/api/v1/work-orders", json={"title": "x", "location": "hall"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["status"] == 401


@pytest.mark.parametrize(
    "start", ["-99999999999", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "nan"]
)
def test_times_outside_the_calendar_are_a_422_not_a_500(api_server: ApiServer, start: str) -> None:
    with api_server.client("admin") as client:
        response = client.get("/api/v1/readings", params={"start": start})
    assert response.status_code == 422, response.text
    assert "start" in response.json()["detail"]


def test_an_unpaired_surrogate_in_a_json_body_is_a_422_not_a_500(api_server: ApiServer) -> None:
    body = b'{"title": "pump \\ud83d leaks", "location": "plant room"}'
    with api_server.client("admin") as client:
        response = client.post(
            "/api/v1/work-orders", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 422, response.text
    assert "surrogate" in response.json()["detail"]


def test_a_requester_cannot_raise_an_emergency_p1_order(api_server: ApiServer) -> None:
    with api_server.client("requester") as client:
        refused = client.post(
            "/api/v1/work-orders", json={"title": "lift", "location": "hall", "priority": "P1"}
        )
        accepted = client.post(
            "/api/v1/work-orders", json={"title": "lift", "location": "hall", "priority": "P2"}
        )
    assert refused.status_code == 403, refused.text
    assert "P2, P3 or P4" in refused.json()["detail"]
    assert accepted.status_code == 201, accepted.text
