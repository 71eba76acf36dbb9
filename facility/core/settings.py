"""Settings from ``FACILITY_*`` environment variables and an optional YAML config file.

Build them with :func:`load_settings` in the composition root and pass slices down; nothing reads
the environment at import time, so a test can point any part at a service on a free port.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from facility.core.errors import ConfigError

__all__ = ["RobotSettings", "Settings", "load_settings"]

_MQTT_SCHEMES = {"mqtt", "mqtts", "tcp", "ssl", "ws", "wss"}
_PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "xxx"}


class RobotSettings(BaseModel):
    """One WeCom / DingTalk / Feishu group robot (an item of ``robots:`` in the config file)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="unique per kind; deliveries and logs name the robot by it")
    kind: Literal["wecom", "dingtalk", "feishu"]
    url: SecretStr = Field(description="the robot's webhook URL (it carries the access token)")
    secret: SecretStr | None = Field(default=None, description="DingTalk/Feishu signing secret")
    language: Literal["zh-Hans", "en"] = "zh-Hans"
    events: list[str] | None = Field(default=None, description="unset = every event")
    priorities: list[str] | None = Field(
        default=None, description="work-order events only of these priorities; unset = all"
    )
    card: bool = Field(default=True, description="Feishu: interactive card; false = plain text")


class Settings(BaseSettings):
    """Every setting of a Facility process. Field ``x`` is read from ``FACILITY_X``."""

    model_config = SettingsConfigDict(env_prefix="FACILITY_", extra="ignore")

    mqtt_url: str | None = Field(
        default=None, description="mqtt://user:pass@host:1883; unset in demo = embedded broker"
    )
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    mqtt_client_id: str = "facility-gateway"
    mqtt_topics: list[str] = Field(
        default_factory=lambda: [
            "facility/#",
            "zigbee2mqtt/#",
            "tele/#",
            "stat/#",
            "homeassistant/#",
        ],
        description="topic filters; add '+/status/#', '+/events/rpc' for Shelly, '+/sensor/#' "
        "for ESPHome (wildcard-first filters see every device on the broker)",
    )
    mqtt_share_group: str | None = Field(
        default=None, description="join $share/<group>/... to split load across gateway workers"
    )
    database_url: str | None = Field(default=None, description="unset = SQLite under data_dir")
    data_dir: Path = Path("data")
    influx_url: str | None = None
    influx_token: SecretStr | None = None
    influx_org: str = "facility"
    influx_bucket: str = "facility"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    rules_file: Path | None = None
    secret_key: SecretStr | None = Field(
        default=None, description="signs API tokens; unset = generated once into data_dir"
    )
    token_ttl_s: int = 8 * 3600
    qr_secret: SecretStr | None = Field(
        default=None,
        description="signs QR report links, apart from secret_key; unset = kept in data_dir",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CIDRs whose X-Forwarded-For/-Proto count (JSON list or comma-separated); "
        "unset = none, forwarded headers are ignored",
    )
    attachment_quota_per_order_bytes: int = Field(
        default=100 * 1024 * 1024, description="all attachments of one work order"
    )
    attachment_quota_per_user_bytes: int = Field(
        default=500 * 1024 * 1024, description="all attachments one user uploaded"
    )
    # Failed log-ins allowed per (account, client address) and per client address, as
    # COUNT/PERIOD; the counters live in memory unless a shared storage URI (redis://…) is set.
    login_throttle_per_account: str = "5/15minutes"
    login_throttle_per_client: str = "30/15minutes"
    # ... and per account from every address; this one and per_client spare an address that
    # signed in to the account within 30 days (maintenance.people.login_throttle)
    login_throttle_per_account_total: str = "100/15minutes"
    login_throttle_storage: str = "memory://"
    # Anonymous reports through a QR link, as COUNT/PERIOD: per (client address, asset), per
    # printed link and per asset (console._links.RateLimiter; docs/security.md)
    report_limit_per_client: str = "5/10minutes"
    report_limit_per_link: str = "20/hour"
    report_limit_per_asset: str = "30/hour"
    demo_password: SecretStr | None = None
    batch_size: int = 500
    flush_interval_s: float = 0.2
    max_payload_bytes: int = 64 * 1024
    offline_check_interval_s: float = 1.0
    # -- gateway transport, registry and buffering (issue 4) --
    mqtt_username: str | None = Field(default=None, description="overrides the URL's user")
    mqtt_password: SecretStr | None = Field(default=None, description="never logged")
    mqtt_password_file: Path | None = Field(default=None, description="password on line 1")
    mqtt_ca_file: Path | None = Field(default=None, description="CA bundle for mqtts://")
    mqtt_cert_file: Path | None = Field(default=None, description="client certificate (PEM)")
    mqtt_key_file: Path | None = Field(default=None, description="client private key (PEM)")
    mqtt_session_expiry_s: int = Field(
        default=24 * 3600, ge=0, description="how long the broker queues QoS 1 messages for us"
    )
    mqtt_connect_attempts: int = 3
    registry_file: Path | None = Field(default=None, description="device registry YAML")
    connectors_file: Path | None = Field(
        default=None, description="field-bus connectors YAML (Modbus TCP), polled by serve"
    )
    influx_query_url: str | None = Field(default=None, description="InfluxQL endpoint")
    influx_database: str | None = Field(default=None, description="InfluxQL db (DBRP)")
    reading_store: Literal["sql", "influxdb", "victoriametrics"] | None = Field(
        default=None,
        description="unset = influxdb when FACILITY_INFLUX_URL is set, victoriametrics when "
        "FACILITY_VICTORIA_URL is, else sql",
    )
    victoria_url: str | None = Field(
        default=None, description="VictoriaMetrics (single node, or vminsert's .../influx)"
    )
    victoria_query_url: str | None = Field(
        default=None, description="vmselect's .../select/0/prometheus; unset = victoria_url"
    )
    queue_size: int = Field(default=10_000, description="messages buffered before MQTT pauses")
    spool_max_readings: int = Field(default=1_000_000, description="disk spool bound")
    heartbeat_timeout_s: float = Field(default=300.0, gt=0, description="default offline timeout")
    # -- device quarantine (issue 17): see docs/security.md, "Devices and quarantine" --
    new_device_rate: str = Field(
        default="100/minute",
        description="new device ids recorded per period (COUNT/PERIOD); beyond it dead-lettered",
    )
    unassigned_device_cap: int = Field(
        default=10_000, ge=0, description="unassigned devices recorded at most; 0 = none"
    )
    admit_devices: str = Field(
        default="", description="device id globs admitted without a person, comma-separated"
    )
    pm_interval_s: float = Field(
        default=300.0, ge=0, le=86400, description="PM scheduler pass period in serve/demo; 0 = off"
    )
    fdd_window_s: float = Field(
        default=86400.0,
        gt=0,
        le=90 * 86400,
        description="a fault condition within this time of an FDD order's repair reopens it",
    )
    alert_storm_threshold: int = Field(
        default=20, ge=0, le=1_000_000, description="new orders per window from one rule; 0 = off"
    )
    alert_storm_window_s: float = Field(
        default=60.0, gt=0, le=3600, description="more orders than the threshold in it: a storm"
    )

    webhook_url: str | None = Field(
        default=None, description="POST signed JSON work-order events here"
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC key of the webhook (16+ characters)"
    )
    smtp_host: str | None = Field(default=None, description="SMTP relay for e-mail notifications")
    smtp_port: int = 25
    smtp_sender: str = "facility@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    robots: list[RobotSettings] = Field(
        default_factory=list, description="group robots (YAML list, or JSON in FACILITY_ROBOTS)"
    )
    console_base_url: str | None = Field(
        default=None, description="public base URL of the console, for links in robot messages"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment beats the config file named by ``FACILITY_CONFIG_FILE``."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("FACILITY_CONFIG_FILE")
        if config_file:
            if not Path(config_file).is_file():
                raise ConfigError(
                    f"FACILITY_CONFIG_FILE={config_file!r} does not exist; "
                    "point it at a YAML file or unset it"
                )
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=config_file))
        return tuple(sources)

    @field_validator("mqtt_url")
    @classmethod
    def _check_mqtt_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in _MQTT_SCHEMES or not parts.hostname:
            raise ValueError("expected mqtt://[user:pass@]host[:port] or mqtts://...")
        try:
            _ = parts.port
        except ValueError as exc:
            raise ValueError("the port is not a number (1-65535)") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str | None) -> str | None:
        """Accept the ``postgres://`` URLs hosting providers hand out; use psycopg 3."""
        if not value:
            return None
        for prefix in ("postgres://", "postgresql://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        if "://" not in value:
            raise ValueError("expected a SQLAlchemy URL such as postgresql://user@host/db")
        return value

    @field_validator("api_port")
    @classmethod
    def _check_port(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise ValueError("is not a port number (1-65535)")
        return value

    @field_validator(
        "login_throttle_per_account",
        "login_throttle_per_client",
        "login_throttle_per_account_total",
        "new_device_rate",
        "report_limit_per_client",
        "report_limit_per_link",
        "report_limit_per_asset",
    )
    @classmethod
    def _check_rate_limit(cls, value: str) -> str:
        from limits import parse  # noqa: PLC0415  (lazy: ~50 ms, only when a limit is set)

        try:
            parse(value)
        except ValueError:
            raise ValueError("is not a rate limit; write COUNT/PERIOD, e.g. 5/15minutes") from None
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: Any) -> Any:
        if isinstance(value, str) and value.lstrip().startswith("["):
            import json  # noqa: PLC0415

            try:
                return json.loads(value)
            except ValueError:
                raise ValueError("is not a JSON list; write 127.0.0.1,10.0.0.0/8") from None
        if isinstance(value, str):  # FACILITY_TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        import ipaddress  # noqa: PLC0415

        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"has {item[:60]!r}, which is not an address or CIDR; "
                    "write e.g. 127.0.0.1,10.0.0.0/8"
                ) from None
        return value

    @field_validator("secret_key", "qr_secret")
    @classmethod
    def _refuse_placeholder_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            secret = value.get_secret_value()
            if secret.lower() in _PLACEHOLDERS or len(secret) < 16:
                raise ValueError("is a placeholder or shorter than 16 characters; use a random one")
        return value

    @field_validator(
        "batch_size",
        "max_payload_bytes",
        "token_ttl_s",
        "queue_size",
        "spool_max_readings",
        "mqtt_connect_attempts",
        "attachment_quota_per_order_bytes",
        "attachment_quota_per_user_bytes",
    )
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("must be a positive integer")
        return value

    def sqlite_url(self, name: str = "facility.db") -> str:
        """The URL of the embedded SQLite database under ``data_dir``."""
        return f"sqlite:///{(self.data_dir / name).resolve()}"

    def effective_database_url(self) -> str:
        return self.database_url or self.sqlite_url()

    def masked(self) -> dict[str, Any]:
        """Effective settings with passwords in URLs and secrets masked, for ``config show``."""
        return {key: _mask(value) for key, value in self.model_dump().items()}


def _mask(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else ""
    if isinstance(value, str) and "://" in value:
        return _mask_url(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):  # nested models, e.g. the robots
        return {key: _mask(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item) for item in value]
    return value


_URL_PASSWORD = re.compile(r"(?P<head>://[^/@\s]*?:)[^@\s]*@")


def _mask_url(url: str) -> str:
    """``postgresql://u:secret@h/db`` → ``postgresql://u:********@h/db``, even when malformed."""
    return _URL_PASSWORD.sub(r"\g<head>********@", url, count=1)


def _shown_input(field: str, value: Any) -> str:
    """The rejected value as an error may show it: secrets masked, URL passwords hidden, short."""
    name = field.split(".", maxsplit=1)[0]
    info = Settings.model_fields.get(name)
    if info is not None and "SecretStr" in str(info.annotation):
        return "'********'"
    if name == "robots":  # webhook URLs carry access tokens
        return "'********'"
    shown = _mask(value) if isinstance(value, str) else value
    text = repr(shown)
    return text if len(text) <= 120 else text[:117] + "..."


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings`, turning validation errors into one ``ConfigError`` line each."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "?"
            var = f"FACILITY_{field.upper()}"
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{var}={_shown_input(field, error.get('input'))} {message}")
        raise ConfigError("; ".join(problems)) from exc
