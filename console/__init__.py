"""The built-in web console: server-rendered pages over the work-order service and live readings.

It sits above ``maintenance`` (it reads the same :class:`~maintenance.people.deps.ApiContext` and
changes orders only through :mod:`maintenance.work_orders.service`); nothing below imports it.
The composition root mounts it with :func:`mount_console`.

:func:`mount_console` is imported on first use: it brings every page and the services behind
them, which a process that only runs ``facility`` commands (``console.cli`` is part of the
``facility`` command, so ``facility --help`` imports this package) never needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console._links import LinkError, RateLimiter, Revocations, sign_link, verify_link
from console._render import PREFIX, ConsoleState

if TYPE_CHECKING:
    from console._app import mount_console

__all__ = [
    "PREFIX",
    "ConsoleState",
    "LinkError",
    "RateLimiter",
    "Revocations",
    "mount_console",
    "sign_link",
    "verify_link",
]


def __getattr__(name: str) -> Any:
    if name == "mount_console":
        # lazy for start-up cost: the pages and their services load only where they are served
        from console._app import mount_console  # noqa: PLC0415

        return mount_console
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
