"""Throttling of failed log-ins, so a password cannot be guessed at the speed of the network.

Three budgets, all counting *failed* attempts only, kept in ``limits`` storage (memory by
default; several API processes share them through ``FACILITY_LOGIN_THROTTLE_STORAGE=redis://…``):

* **per (account, client address)**, ``per_account`` (``5/15minutes``): that many failures are
  free, then every further attempt from that address at that account waits 1 s, 2 s, 4 s, …
  after the last failure (exponential backoff, at most the period). A user who mistypes is
  slowed on that device only; a success clears the count.
* **per client address**, ``per_client`` (``30/15minutes``): one address trying many accounts
  (password spraying) is stopped;
* **per account, from every address**, ``per_account_total`` (``100/15minutes``): many addresses
  guessing one account are stopped.

The last two would let an attacker lock real users out (a NAT'd office shares one address;
anyone anywhere can fail at ``admin``), so they do not apply to an address that signed in to
that account successfully within the last 30 days: the real user, from where they usually sign
in, keeps getting in while the attack is refused. What still reaches such an address is the
per-(account, address) backoff, which it shares only with someone on the same address.

While blocked, the caller gets the seconds to wait, for a ``Retry-After`` header.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerSecond, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

__all__ = [
    "DEFAULT_PER_ACCOUNT",
    "DEFAULT_PER_ACCOUNT_TOTAL",
    "DEFAULT_PER_CLIENT",
    "LoginThrottle",
    "parse_limit",
]

DEFAULT_PER_ACCOUNT = "5/15minutes"
DEFAULT_PER_CLIENT = "30/15minutes"
DEFAULT_PER_ACCOUNT_TOTAL = "100/15minutes"
#: How long a successful sign-in makes an (account, address) pair "known".
KNOWN_FOR_DAYS = 30
#: Failures counted per (account, address) before the count saturates (the wait is capped long
#: before: 2**20 s is far beyond any period).
_COUNT_CAP = 10_000


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
        per_account_total: str = DEFAULT_PER_ACCOUNT_TOTAL,
        storage_uri: str = "memory://",
    ) -> None:
        self._per_account = parse_limit(per_account)
        self._per_client = parse_limit(per_client)
        self._per_account_total = parse_limit(per_account_total)
        self._period_s = self._per_account.get_expiry()
        self._failures = RateLimitItemPerSecond(_COUNT_CAP, self._period_s)
        self._known = RateLimitItemPerDay(1, KNOWN_FOR_DAYS)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))

    def retry_after_s(self, *, username: str, client: str) -> int | None:
        """Seconds to wait before another attempt from ``client`` at ``username``, or None."""
        account = username.lower()
        waits = [self._backoff_wait(account, client)]
        if not self.known(username=username, client=client):
            waits.append(self._wait(self._per_client, "client", client))
            waits.append(self._wait(self._per_account_total, "account", account))
        blocked = [w for w in waits if w is not None]
        return max(blocked) if blocked else None

    def failed(self, *, username: str, client: str) -> None:
        """Count one failed attempt in every budget and start the backoff past the free ones."""
        account = username.lower()
        self._limiter.hit(self._failures, "failures", account, client)
        count = self._failure_count(account, client)
        if count >= self._per_account.amount:
            self._limiter.hit(self._delay_item(count), "backoff", account, client, str(count))
        self._limiter.hit(self._per_client, "client", client)
        self._limiter.hit(self._per_account_total, "account", account)

    def succeeded(self, *, username: str, client: str) -> None:
        """Forget this address's failures at the account and remember the address as known."""
        account = username.lower()
        self._limiter.clear(self._failures, "failures", account, client)
        self._limiter.hit(self._known, "known", account, client)

    def known(self, *, username: str, client: str) -> bool:
        """Whether ``client`` signed in to ``username`` successfully in the last 30 days."""
        return not self._limiter.test(self._known, "known", username.lower(), client)

    def _failure_count(self, account: str, client: str) -> int:
        stats = self._limiter.get_window_stats(self._failures, "failures", account, client)
        return _COUNT_CAP - stats.remaining

    def _delay_item(self, count: int) -> RateLimitItem:
        """One attempt per 2**(count - free) seconds, at most one per period."""
        excess = min(count - self._per_account.amount, 30)
        return RateLimitItemPerSecond(1, min(2**excess, self._period_s))

    def _backoff_wait(self, account: str, client: str) -> int | None:
        count = self._failure_count(account, client)
        if count < self._per_account.amount:
            return None
        return self._wait(self._delay_item(count), "backoff", account, client, str(count))

    def _wait(self, item: RateLimitItem, *identifiers: str) -> int | None:
        if self._limiter.test(item, *identifiers):
            return None
        reset_at, _remaining = self._limiter.get_window_stats(item, *identifiers)
        return max(1, math.ceil(reset_at - time.time()))
