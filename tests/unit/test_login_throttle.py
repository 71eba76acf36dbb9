"""Failed log-in throttling: the windows, what clears them, and what they leave alone."""

from __future__ import annotations

import pytest

from facility.core.errors import ConfigError
from facility.core.settings import load_settings
from maintenance.people.login_throttle import LoginThrottle, parse_limit


def test_an_account_is_blocked_on_one_client_after_its_failures_and_says_how_long() -> None:
    throttle = LoginThrottle(per_account="3/10minutes", per_client="100/10minutes")
    for _ in range(3):
        assert throttle.retry_after_s(username="tech", client="10.0.0.5") is None
        throttle.failed(username="tech", client="10.0.0.5")
    wait_s = throttle.retry_after_s(username="tech", client="10.0.0.5")
    assert wait_s is not None
    assert 1 <= wait_s <= 600


def test_failures_elsewhere_do_not_lock_the_real_user_out() -> None:
    throttle = LoginThrottle(per_account="3/10minutes", per_client="100/10minutes")
    for _ in range(3):
        throttle.failed(username="tech", client="203.0.113.9")
    assert throttle.retry_after_s(username="tech", client="203.0.113.9") is not None
    assert throttle.retry_after_s(username="tech", client="10.0.0.5") is None


def test_user_names_are_counted_without_regard_to_case() -> None:
    throttle = LoginThrottle(per_account="2/10minutes", per_client="100/10minutes")
    throttle.failed(username="Tech", client="c")
    throttle.failed(username="TECH", client="c")
    assert throttle.retry_after_s(username="tech", client="c") is not None


def test_one_client_spraying_many_accounts_is_stopped_by_the_client_window() -> None:
    throttle = LoginThrottle(per_account="5/10minutes", per_client="4/10minutes")
    for number in range(4):
        throttle.failed(username=f"user{number}", client="198.51.100.7")
    assert throttle.retry_after_s(username="someone-new", client="198.51.100.7") is not None
    assert throttle.retry_after_s(username="someone-new", client="10.0.0.5") is None


def test_a_successful_log_in_clears_the_accounts_failures_on_that_client() -> None:
    throttle = LoginThrottle(per_account="3/10minutes", per_client="100/10minutes")
    for _ in range(2):
        throttle.failed(username="tech", client="c")
    throttle.succeeded(username="tech", client="c")
    for _ in range(2):
        throttle.failed(username="tech", client="c")
    assert throttle.retry_after_s(username="tech", client="c") is None


@pytest.mark.parametrize("text", ["", "five per minute", "5/fortnights", "-1/minute", "5/"])
def test_a_malformed_limit_names_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match="COUNT/PERIOD"):
        parse_limit(text)


def test_a_malformed_throttle_setting_is_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FACILITY_LOGIN_THROTTLE_PER_ACCOUNT", "lots")
    with pytest.raises(ConfigError, match=r"FACILITY_LOGIN_THROTTLE_PER_ACCOUNT.*COUNT/PERIOD"):
        load_settings()
