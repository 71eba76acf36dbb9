"""Notification targets come from settings; a bad one is a ConfigError naming the variables."""

from __future__ import annotations

import pytest

from facility.app.stack import notify_config
from facility.core.errors import ConfigError
from facility.core.settings import load_settings


def test_no_targets_by_default() -> None:
    config = notify_config(load_settings())
    assert config.webhooks == ()
    assert config.smtp is None


def test_webhook_and_smtp_targets_are_built_from_settings() -> None:
    config = notify_config(
        load_settings(
            webhook_url="https://hooks.example.org/facility",
            webhook_secret="0123456789abcdef0123",
            smtp_host="mail.example.org",
            smtp_port=587,
            smtp_starttls=True,
        )
    )
    assert [w.url for w in config.webhooks] == ["https://hooks.example.org/facility"]
    assert config.smtp is not None
    assert (config.smtp.host, config.smtp.port, config.smtp.starttls) == (
        "mail.example.org",
        587,
        True,
    )


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("https://hooks.example.org", None),
        ("https://hooks.example.org", "short"),
        ("ftp://x", "0" * 20),
    ],
)
def test_unusable_webhook_settings_are_a_config_error(url: str, secret: str | None) -> None:
    with pytest.raises(ConfigError, match="FACILITY_WEBHOOK"):
        notify_config(load_settings(webhook_url=url, webhook_secret=secret))
