"""A small browser stand-in for the console's HTTP tests: cookies, CSRF tokens, log-in."""

from __future__ import annotations

import re

import httpx

from tests.e2e.conftest import CONSOLE_PASSWORD

_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{40})"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


_OPEN: list[httpx.Client] = []


def close_browsers() -> None:
    """Close every client :func:`browser` handed out (the fixture calls this at teardown)."""
    while _OPEN:
        _OPEN.pop().close()


def browser(base_url: str, language: str = "en") -> httpx.Client:
    """A cookie-keeping client that does not follow redirects (tests look at them)."""
    client = httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(120.0, connect=30.0),  # a loaded CI machine, never a default
        headers={"Accept-Language": language},
        follow_redirects=False,
    )
    _OPEN.append(client)
    return client


def log_in(client: httpx.Client, username: str, password: str = CONSOLE_PASSWORD) -> None:
    page = client.get("/console/login")
    assert page.status_code == 200
    response = client.post(
        "/console/login",
        data={
            "csrf": csrf_of(page.text),
            "username": username,
            "password": password,
            "next": "/console/",
        },
    )
    assert response.status_code == 303, response.text[:300]
    assert "facility_session" in client.cookies


def form_token(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text[:300]
    return csrf_of(page.text)
