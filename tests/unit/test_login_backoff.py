"""The log-in throttle backs off exponentially and spares addresses the account is known at."""

from __future__ import annotations

from maintenance.people.login_throttle import LoginThrottle


def _throttle() -> LoginThrottle:
    return LoginThrottle(
        per_account="3/10minutes", per_client="6/10minutes", per_account_total="8/10minutes"
    )


def test_each_failure_past_the_free_ones_doubles_the_wait_up_to_the_period() -> None:
    throttle = LoginThrottle(
        per_account="2/1minute", per_client="1000/1minute", per_account_total="1000/1minute"
    )
    waits = []
    for _ in range(10):
        throttle.failed(username="tech", client="10.0.0.5")
        waits.append(throttle.retry_after_s(username="tech", client="10.0.0.5"))
    assert waits[:2] == [None, 1]
    assert waits[2:7] == [2, 4, 8, 16, 32]
    assert waits[7:] == [60, 60, 60], "capped at the period"


def test_a_known_address_is_spared_the_per_address_and_per_account_budgets() -> None:
    throttle = _throttle()
    throttle.succeeded(username="manager", client="10.0.0.1")
    assert throttle.known(username="MANAGER", client="10.0.0.1")
    for n in range(10):  # many attackers at the manager's account, one at many accounts
        throttle.failed(username="manager", client=f"203.0.113.{n}")
        throttle.failed(username=f"user{n}", client="10.0.0.1")
    assert throttle.retry_after_s(username="manager", client="203.0.113.99") is not None
    assert throttle.retry_after_s(username="someone", client="10.0.0.1") is not None
    assert throttle.retry_after_s(username="manager", client="10.0.0.1") is None


def test_a_success_clears_the_backoff_of_that_address_only() -> None:
    throttle = _throttle()
    for client in ("10.0.0.5", "10.0.0.6"):
        for _ in range(3):
            throttle.failed(username="tech", client=client)
    throttle.succeeded(username="tech", client="10.0.0.5")
    assert throttle.retry_after_s(username="tech", client="10.0.0.5") is None
    assert throttle.retry_after_s(username="tech", client="10.0.0.6") is not None
