"""A sign-in can be withdrawn: deactivation and a role or password change take effect on the
next request, not when the 8-hour token expires (the console's sign-out: tests/e2e)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from maintenance.people.users import set_password, update_user
from maintenance.shared.vocabulary import Role
from tests.integration._work_order_server import PASSWORD, ApiServer, running_api

pytestmark = pytest.mark.integration


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(database_url, tmp_path) as server:
        yield server


@contextmanager
def _signed_in(api: ApiServer, username: str) -> Iterator[httpx.Client]:
    """A client holding a token from the real password log-in (as users get theirs)."""
    with httpx.Client(base_url=api.url, timeout=60) as client:
        answer = client.post(
            "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
        yield client


def test_deactivating_a_user_ends_their_token_at_once(api: ApiServer) -> None:
    with _signed_in(api, "tech") as tech:
        assert tech.get("/api/v1/work-orders").status_code == 200
        with api.sessions() as session:
            update_user(session, username="tech", active=False)
        refused = tech.get("/api/v1/work-orders")
    assert refused.status_code == 401
    assert "withdrawn" in refused.json()["detail"]


def test_a_role_change_ends_the_old_token_and_the_new_one_carries_the_new_role(
    api: ApiServer,
) -> None:
    with _signed_in(api, "manager") as manager:
        assert manager.get("/api/v1/kpis").status_code == 200
        with api.sessions() as session:
            update_user(session, username="manager", role=Role.REQUESTER)
        assert manager.get("/api/v1/kpis").status_code == 401
    with _signed_in(api, "manager") as demoted:
        assert demoted.get("/api/v1/kpis").status_code == 403


def test_a_password_change_ends_every_earlier_sign_in(api: ApiServer) -> None:
    with _signed_in(api, "tech") as tech:
        with api.sessions() as session:
            set_password(session, username="tech", password="new plant room passphrase")
        assert tech.get("/api/v1/work-orders").status_code == 401
