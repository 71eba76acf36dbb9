"""The built-in web console: server-rendered pages over the work-order service and live readings.

It sits above ``maintenance`` (it reads the same :class:`~maintenance.people.deps.ApiContext` and
changes orders only through :mod:`maintenance.work_orders.service`); nothing below imports it.
The composition root mounts it with :func:`mount_console`.
"""

from console._app import PREFIX, ConsoleState, mount_console
from console._links import LinkError, RateLimiter, Revocations, sign_link, verify_link

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
