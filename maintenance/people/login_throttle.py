"""Throttling of failed log-ins, so a password cannot be guessed at the speed of the network.

Two moving windows (the ``limits`` library), both counting *failed* attempts only:

* per (account, client address): a user who mistypes their password a few times is slowed down
  on that device only, so an attacker elsewhere cannot lock the real user out of their account;
* per client address: one address trying many accounts (password spraying) is stopped too.

A successful log-in clears the (account, client) window. While a window is full the caller gets
the seconds until the oldest failure leaves it, for a ``Retry-After`` header. The counters are
in memory by default, which is right for one API process; several processes behind a load
balancer share them through ``FACILITY_LOGIN_THROTTLE_STORAGE=redis://…`` (any storage URI
``limits`` understands).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

__all__ = ["DEFAULT_PER_ACCOUNT", "DEFAULT_PER_CLIENT", "LoginThrottle", "parse_limit"]

DEFAULT_PER_ACCOUNT = "5/15minutes"
DEFAULT_PER_CLIENT = "30/15minutes"


def parse_limit(text: str) -> RateLimitItem:
    """``"5/15minutes"`` → a limit; ValueError naming the expected form otherwise."""
    try:
        return parse(text)
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is not a rate limit; write it as COUNT/PERIOD, e.g. 5/15minutes or 30/hour"
        ) from exc


class LoginThrottle:
    """Counts failed log-ins and says when the next attempt must wait."""

    def __init__(
        self,
        *,
        per_account: str = DEFAULT_PER_ACCOUNT,
        per_client: str = DEFAULT_PER_CLIENT,
        storage_uri: str = "memory://",
    ) -> None:
        self._per_account = parse_limit(per_account)
        self._per_client = parse_limit(per_client)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def retry_after_s(self, *, username: str, client: str) -> int | None:
        """Seconds to wait before another attempt from ``client`` at ``username``, or None."""
        waits = [
            self._wait(self._per_account, "account", username.lower(), client),
            self._wait(self._per_client, "client", client),
        ]
        blocked = [w for w in waits if w is not None]
        return max(blocked) if blocked else None

    def failed(self, *, username: str, client: str) -> None:
        """Count one failed attempt in both windows."""
        self._limiter.hit(self._per_account, "account", username.lower(), client)
        self._limiter.hit(self._per_client, "client", client)

    def succeeded(self, *, username: str, client: str) -> None:
        """Forget the account's failures from this client (the user got it right)."""
        self._limiter.clear(self._per_account, "account", username.lower(), client)

    def _wait(self, item: RateLimitItem, *identifiers: str) -> int | None:
        if self._limiter.test(item, *identifiers):
            return None
        reset_at, _remaining = self._limiter.get_window_stats(item, *identifiers)
        return max(1, math.ceil(reset_at - time.time()))
