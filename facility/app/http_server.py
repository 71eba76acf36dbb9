"""Serve an ASGI app with uvicorn on a background thread, on a socket bound by the caller.

Why bind here instead of letting uvicorn do it: uvicorn binds inside its own thread and, when
the port is taken, logs and calls ``sys.exit(1)`` there. The caller then only learns that the
thread died, and test runners report the ``SystemExit`` as an unhandled thread exception.
Binding first turns "port in use" into an ``OSError`` in the caller's thread, with the address,
and makes port 0 (any free port) race-free: the socket is held from the moment it is chosen.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from facility.core.wait import wait_until

__all__ = ["RunningServer", "bind_listener", "start_http_server"]


def bind_listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port`` 0 = a free one); ``OSError`` if taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and
    # without it Nagle and the client's delayed ACK add ~40 ms to every keep-alive response
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


@dataclass
class RunningServer:
    """A uvicorn server running on its own daemon thread."""

    server: uvicorn.Server
    thread: threading.Thread
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, timeout_s: float = 10) -> None:
        """Ask uvicorn to finish open requests and exit; wait up to ``timeout_s`` for it."""
        self.server.should_exit = True
        self.thread.join(timeout=timeout_s)


def start_http_server(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    name: str = "http",
    start_timeout_s: float = 15,
    trusted_proxies: Sequence[str] = (),
) -> RunningServer:
    """Bind ``host:port``, start serving ``app`` and return once uvicorn accepts connections.

    ``X-Forwarded-For`` and ``X-Forwarded-Proto`` count only from a peer in ``trusted_proxies``
    (addresses or CIDRs, ``FACILITY_TRUSTED_PROXIES``). uvicorn's own default trusts them from
    loopback, which lets anything on the host (or any proxy that passes the header on) choose
    its client address and dodge every per-address limit; with no trusted proxy the
    middleware is off altogether. RFC 7239 ``Forwarded`` is never read.

    Raises ``OSError`` when the address cannot be bound and ``TimeoutError`` when uvicorn does
    not come up within ``start_timeout_s``.
    """
    sock = bind_listener(host, port)
    bound_port: int = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=bound_port,
            log_level="warning",
            access_log=False,
            proxy_headers=bool(trusted_proxies),
            forwarded_allow_ips=list(trusted_proxies) or None,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    try:
        wait_until(
            lambda: server.started or not thread.is_alive(),
            timeout_s=start_timeout_s,
            what=f"the HTTP server on {host}:{bound_port}",
        )
    except TimeoutError:
        server.should_exit = True
        raise
    finally:
        if not server.started:
            sock.close()
    if not server.started:
        raise RuntimeError(f"the HTTP server on {host}:{bound_port} stopped while starting")
    return RunningServer(server, thread, host, bound_port)
