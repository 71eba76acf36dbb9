"""Signing out of the console ends that sign-in everywhere: a copy of the session's token stops
working on the API too (it used to stay valid for up to 8 hours)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import ConsoleServer
from tests.e2e.console_client import browser, form_token, log_in

pytestmark = pytest.mark.e2e


def test_a_console_sign_out_withdraws_the_sessions_token_on_the_api_too(
    console_server: ConsoleServer,
) -> None:
    client = browser(console_server.url)
    log_in(client, "tech")
    token = client.cookies["facility_session"]
    with httpx.Client(base_url=console_server.url, timeout=60) as copy:
        copy.headers["Authorization"] = f"Bearer {token}"
        assert copy.get("/api/v1/work-orders").status_code == 200
        out = client.post("/console/logout", data={"csrf": form_token(client, "/console/my")})
        assert out.status_code == 303
        refused = copy.get("/api/v1/work-orders")
    assert refused.status_code == 401
    assert "withdrawn" in refused.json()["detail"]
    assert client.get("/console/my").status_code == 303  # back to the log-in page
