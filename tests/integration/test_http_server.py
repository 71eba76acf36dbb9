"""The background HTTP server binds in the caller's thread: a taken port is a clear error."""

from __future__ import annotations

import threading

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from facility.app.http_server import bind_listener, start_http_server


def _app() -> Starlette:
    async def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse("hello")

    return Starlette(routes=[Route("/", hello)])


def test_port_zero_serves_on_the_port_it_reports_and_stops() -> None:
    server = start_http_server(_app(), "127.0.0.1", 0, name="probe")
    try:
        assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}"
        assert httpx.get(server.url, timeout=5).text == "hello"
    finally:
        server.stop()
    assert not server.thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=2)


def test_a_taken_port_raises_in_the_callers_thread_and_leaves_no_thread_behind() -> None:
    holder = bind_listener("127.0.0.1", 0)
    taken = holder.getsockname()[1]
    threads_before = {t.ident for t in threading.enumerate()}
    try:
        with pytest.raises(OSError):
            start_http_server(_app(), "127.0.0.1", taken, name="probe")
    finally:
        holder.close()
    assert {t.ident for t in threading.enumerate()} <= threads_before
