"""Forwarded headers count only from trusted proxies; log-in and report limits hold under abuse.

Every test runs the real API and console on uvicorn (``start_http_server``, as ``facility
serve`` does) on a free port and sends raw requests, with and without a trusted proxy.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import Request

from console import ConsoleState, Revocations, mount_console, sign_link
from console._headers import HSTS
from facility.app.http_server import RunningServer, start_http_server
from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine
from maintenance.api.app import create_app
from maintenance.assets.models import Asset
from maintenance.people.deps import ApiContext
from maintenance.people.login_throttle import LoginThrottle
from maintenance.shared.db import connect, upgrade
from tests.integration._work_order_server import (
    PASSWORD,
    SECRET,
    _copy_migrated_template,
    seed,
)

LINK_SECRET = "qr-link-secret-0123456789abcdef0123"


@dataclass
class Served:
    server: RunningServer
    context: ApiContext
    state: ConsoleState

    @property
    def url(self) -> str:
        return self.server.url


def _serve(tmp_path: Path, trusted: list[str]) -> Iterator[Served]:
    database_url = f"sqlite:///{tmp_path / 'facility.db'}"
    _copy_migrated_template(database_url)
    engine, sessions = connect(database_url)
    upgrade(engine)
    seed(sessions)
    readings_engine = make_engine(f"sqlite:///{tmp_path / 'readings.db'}")
    context = ApiContext(
        sessions=sessions,
        readings=SqlReadingStore(readings_engine),
        states=SqlStateStore(readings_engine),
        secret=SECRET,
        attachments_dir=tmp_path / "attachments",
        login_throttle=LoginThrottle(
            per_account="3/15minutes", per_client="6/15minutes", per_account_total="10/15minutes"
        ),
    )
    app = create_app(context)

    @app.get("/_probe/peer", include_in_schema=False)
    def peer(request: Request) -> dict[str, str]:
        return {
            "client": request.client.host if request.client else "",
            "scheme": request.url.scheme,
        }

    state = ConsoleState(revocations=Revocations(tmp_path / "report-links.json"))
    mount_console(app, data_dir=tmp_path, state=state, link_secret=LINK_SECRET)
    server = start_http_server(app, "127.0.0.1", 0, name="proxy-test", trusted_proxies=trusted)
    try:
        yield Served(server, context, state)
    finally:
        server.stop()
        readings_engine.dispose()
        engine.dispose()


@pytest.fixture
def direct(tmp_path: Path) -> Iterator[Served]:
    """No trusted proxy (the default): forwarded headers are anyone's to forge."""
    yield from _serve(tmp_path, [])


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Served]:
    """Loopback is the trusted proxy, as with nginx on the same host."""
    yield from _serve(tmp_path, ["127.0.0.0/8"])


def _probe(served: Served, **headers: str) -> dict[str, str]:
    response = httpx.get(f"{served.url}/_probe/peer", headers=headers, timeout=30)
    assert response.status_code == 200
    body: dict[str, str] = response.json()
    return body


def _token(served: Served, username: str, password: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{served.url}/api/v1/auth/token",
        data={"username": username, "password": password},
        headers=headers,
        timeout=60,
    )


# -- forwarded headers ------------------------------------------------------------------------
def test_forged_forwarded_headers_from_an_untrusted_peer_are_ignored(direct: Served) -> None:
    seen = _probe(
        direct,
        **{
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Proto": "https",
            "Forwarded": "for=203.0.113.9;proto=https",
        },
    )
    assert seen == {"client": "127.0.0.1", "scheme": "http"}


def test_a_trusted_proxy_sets_the_client_address_and_scheme(proxied: Served) -> None:
    seen = _probe(proxied, **{"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"})
    assert seen == {"client": "198.51.100.7", "scheme": "https"}
    # a client's own forged entry in front of the proxy's is not believed: the proxy appends
    seen = _probe(proxied, **{"X-Forwarded-For": "10.9.9.9, 198.51.100.7"})
    assert seen["client"] == "198.51.100.7"


def test_rotating_x_forwarded_for_does_not_dodge_the_login_throttle(direct: Served) -> None:
    statuses = [
        _token(direct, "admin", f"wrong-{n}", **{"X-Forwarded-For": f"192.0.2.{n}"}).status_code
        for n in range(8)
    ]
    assert statuses[:3] == [401, 401, 401]
    assert 429 in statuses[3:], statuses


# -- log-in throttle ---------------------------------------------------------------------------
def test_failures_from_one_address_back_off_exponentially(proxied: Served) -> None:
    attacker = {"X-Forwarded-For": "198.51.100.66"}
    for n in range(3):
        assert _token(proxied, "tech", f"guess-{n}", **attacker).status_code == 401
    first = _token(proxied, "tech", "guess-x", **attacker)
    assert first.status_code == 429
    assert int(first.headers["Retry-After"]) == 1
    throttle = proxied.context.login_throttle
    # each further failure doubles the wait (two more: the address's own budget is 6)
    waits = []
    for _ in range(2):
        throttle.failed(username="tech", client="198.51.100.66")
        waits.append(throttle.retry_after_s(username="tech", client="198.51.100.66"))
    assert waits == [2, 4]


def test_an_attacker_elsewhere_cannot_lock_the_real_user_out(proxied: Served) -> None:
    office = {"X-Forwarded-For": "198.51.100.10"}
    assert _token(proxied, "manager", PASSWORD, **office).status_code == 200
    for n in range(12):  # attackers at many addresses: over the per-client and total limits
        attacker = {"X-Forwarded-For": f"203.0.113.{n // 2}"}
        _token(proxied, "manager", f"spray-{n}", **attacker)
    blocked = _token(proxied, "manager", "spray-x", **{"X-Forwarded-For": "203.0.113.0"})
    assert blocked.status_code == 429
    assert _token(proxied, "manager", PASSWORD, **office).status_code == 200


def test_a_shared_office_address_spraying_does_not_lock_out_users_known_there(
    proxied: Served,
) -> None:
    office = {"X-Forwarded-For": "198.51.100.20"}
    assert _token(proxied, "tech2", PASSWORD, **office).status_code == 200
    for name in ("admin", "tech", "requester", "outsider"):
        for n in range(2):
            _token(proxied, name, f"wrong-{n}", **office)
    assert _token(proxied, "requester2", "wrong", **office).status_code == 429
    assert _token(proxied, "tech2", PASSWORD, **office).status_code == 200


# -- the console behind a TLS proxy -------------------------------------------------------------
def _cookies(response: httpx.Response) -> dict[str, str]:
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        found[name] = rest.split(";", 1)[0]
    return found


def test_the_console_works_behind_a_trusted_tls_proxy(proxied: Served) -> None:
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.30", "Host": "fm.test"}
    page = httpx.get(f"{proxied.url}/console/login", headers=https, timeout=30)
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"] == HSTS
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    for header in page.headers.get_list("set-cookie"):
        assert "Secure" in header, header
    csrf = re.search(r'name="csrf" value="([0-9a-f]{40})"', page.text)
    assert csrf is not None
    cookie = "; ".join(f"{k}={v}" for k, v in _cookies(page).items())
    login = httpx.post(
        f"{proxied.url}/console/login",
        data={"username": "manager", "password": PASSWORD, "csrf": csrf.group(1)},
        headers={**https, "Origin": "https://fm.test", "Cookie": cookie},
        timeout=60,
    )
    assert login.status_code == 303, login.text[:500]
    session_cookie = next(h for h in login.headers.get_list("set-cookie") if "session" in h)
    assert "Secure" in session_cookie


def test_a_forged_https_header_from_an_untrusted_peer_gets_no_hsts(direct: Served) -> None:
    page = httpx.get(
        f"{direct.url}/console/login", headers={"X-Forwarded-Proto": "https"}, timeout=30
    )
    assert page.status_code == 200
    assert "Strict-Transport-Security" not in page.headers
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    for header in page.headers.get_list("set-cookie"):
        assert "Secure" not in header
    api = httpx.get(f"{direct.url}/healthz", timeout=30)
    assert api.headers["X-Content-Type-Options"] == "nosniff"


# -- the anonymous report form --------------------------------------------------------------------
def _report(served: Served, token: str, client: str, title: str = "Leaking tap") -> int:
    form = httpx.get(f"{served.url}/console/r/{token}", timeout=30)
    assert form.status_code == 200, form.text[:300]
    csrf = re.search(r'name="csrf" value="([0-9a-f]{40})"', form.text)
    assert csrf is not None
    cookie = "; ".join(f"{k}={v}" for k, v in _cookies(form).items())
    response = httpx.post(
        f"{served.url}/console/r/{token}",
        data={"title": title, "description": "water on the floor", "csrf": csrf.group(1)},
        headers={"Cookie": cookie, "X-Forwarded-For": client},
        timeout=60,
    )
    return response.status_code


def _asset_ids(served: Served) -> list[int]:
    with served.context.sessions() as session:
        return [asset.id for asset in session.query(Asset).order_by(Asset.id)]


def test_report_links_are_signed_with_the_link_secret_not_the_session_secret(
    proxied: Served,
) -> None:
    asset_id = _asset_ids(proxied)[0]
    good = sign_link(secret=LINK_SECRET, asset_id=asset_id)
    under_session_secret = sign_link(secret=SECRET, asset_id=asset_id)
    assert httpx.get(f"{proxied.url}/console/r/{good}", timeout=30).status_code == 200
    assert (
        httpx.get(f"{proxied.url}/console/r/{under_session_secret}", timeout=30).status_code == 404
    )


def test_a_flood_of_addresses_cannot_make_the_report_form_refuse_everyone(
    proxied: Served,
) -> None:
    first, second = _asset_ids(proxied)[:2]
    state = proxied.state
    for n in range(state.per_client.max_keys + 50):  # fill the per-address table and more
        state.per_client.allow(f"flood-{n}|{first}")
    assert len(state.per_client) == state.per_client.max_keys
    token = sign_link(secret=LINK_SECRET, asset_id=second)
    assert _report(proxied, token, "198.51.100.40") == 201


def test_one_printed_link_has_its_own_budget(proxied: Served) -> None:
    asset_id = _asset_ids(proxied)[0]
    proxied.state.per_link.limit = 2
    token = sign_link(secret=LINK_SECRET, asset_id=asset_id, issued_at=1_700_000_000)
    reprinted = sign_link(secret=LINK_SECRET, asset_id=asset_id, issued_at=1_700_000_100)
    codes = [_report(proxied, token, f"198.51.100.{50 + n}") for n in range(3)]
    assert codes == [201, 201, 429]
    assert _report(proxied, reprinted, "198.51.100.60") == 201


def test_secret_bytes_never_reach_a_report_page(proxied: Served) -> None:
    token = sign_link(secret=secrets.token_urlsafe(32), asset_id=1)
    page = httpx.get(f"{proxied.url}/console/r/{token}", timeout=30)
    assert page.status_code == 404
    assert LINK_SECRET not in page.text and SECRET not in page.text
