"""Failed log-ins over HTTP: the token endpoint answers 429 with Retry-After past the limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from maintenance.people.login_throttle import LoginThrottle
from tests.integration._work_order_server import PASSWORD, ApiServer, running_api


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiServer]:
    with running_api(f"sqlite:///{tmp_path / 'facility.db'}", tmp_path) as server:
        server.context.login_throttle = LoginThrottle(
            per_account="3/15minutes", per_client="10/15minutes"
        )
        yield server


def _token(api: ApiServer, username: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{api.url}/api/v1/auth/token",
        data={"username": username, "password": password},
        timeout=30,
    )


def test_guessing_a_password_is_stopped_with_429_and_retry_after(api: ApiServer) -> None:
    statuses = [_token(api, "tech", f"guess-{n}").status_code for n in range(3)]
    assert statuses == [401, 401, 401]
    blocked = _token(api, "tech", "guess-4")
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    assert "too many failed log-ins" in blocked.json()["detail"]
    # Past the limit even the right password waits: guessing must learn nothing more.
    assert _token(api, "tech", PASSWORD).status_code == 429


def test_other_accounts_still_log_in_while_one_is_throttled(api: ApiServer) -> None:
    for n in range(3):
        _token(api, "tech", f"guess-{n}")
    assert _token(api, "tech", "again").status_code == 429
    assert _token(api, "manager", PASSWORD).status_code == 200


def test_a_correct_password_before_the_limit_resets_the_count(api: ApiServer) -> None:
    for n in range(2):
        assert _token(api, "tech", f"typo-{n}").status_code == 401
    assert _token(api, "tech", PASSWORD).status_code == 200
    for n in range(2):
        assert _token(api, "tech", f"typo-again-{n}").status_code == 401
    assert _token(api, "tech", PASSWORD).status_code == 200


@pytest.mark.parametrize(
    "username", ["x" * 10_000, "tech\u0000", "' OR 1=1 --", "../../etc/passwd", "🔥" * 100]
)
def test_hostile_user_names_are_refused_and_counted_without_error(
    api: ApiServer, username: str
) -> None:
    response = _token(api, username, "whatever")
    assert response.status_code in (401, 422)
    assert _token(api, "manager", PASSWORD).status_code == 200
