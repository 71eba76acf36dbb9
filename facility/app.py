"""The composition root: the one place where gateway, rules and maintenance meet.

``gateway`` and ``rules`` never import ``maintenance`` (nor each other); here readings from the
gateway are handed to the rules engine and its alerts to the work-order service, all built from
one :class:`Settings` and passed down, so a test can point any part at a service on a free port.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from facility.errors import ConfigError, ServiceUnavailable
from facility.settings import Settings
from facility.types import Alert, Presence, Reading
from gateway.ingest import Gateway, GatewayOptions
from gateway.mqtt import MqttOptions
from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine
from maintenance.api.app import create_app
from maintenance.api.deps import ApiContext
from maintenance.db import connect, upgrade
from maintenance.models import Asset, Device
from maintenance.services.work_orders import apply_alert
from rules.engine import RuleEngine
from rules.loader import load_rules
from rules.model import RuleFile

__all__ = ["AssetDirectory", "Stack", "StackOptions", "ensure_secret_key"]

log = logging.getLogger(__name__)

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "rules" / "examples" / "office.yaml"


def ensure_secret_key(settings: Settings) -> str:
    """The token-signing key: from settings, else generated once into the data dir (0600)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


class AssetDirectory:
    """Device → asset code, read from the maintenance DB and cached (refreshed on a miss)."""

    def __init__(self, sessions: sessionmaker[Session], *, refresh_s: float = 5.0) -> None:
        self._sessions = sessions
        self._refresh_s = refresh_s
        self._map: dict[str, str] = {}
        self._loaded_at = -1e9
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._sessions() as session:
            rows = session.execute(
                sa.select(Device.id, Asset.code).join(Asset, Device.asset_id == Asset.id)
            ).all()
        self._map = {device: code for device, code in rows}
        self._loaded_at = time.monotonic()

    def __call__(self, device: str) -> str | None:
        with self._lock:
            if device not in self._map and time.monotonic() - self._loaded_at > self._refresh_s:
                self._load()
            return self._map.get(device)


@dataclass(slots=True)
class StackOptions:
    broker_url: str
    protocol: str = "5"
    rules_file: Path | None = None
    api: bool = True
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    client_id: str = "facility-gateway"
    share_group: str | None = None
    topics: list[str] = field(default_factory=lambda: ["facility/#"])


class Stack:
    """Gateway + rules + maintenance + API in one process (``serve`` and ``demo``)."""

    def __init__(self, settings: Settings, options: StackOptions) -> None:
        self.settings = settings
        self.options = options
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db_engine, self.sessions = connect(settings.effective_database_url())
        upgrade(self.db_engine)
        readings_url = settings.database_url or settings.sqlite_url("readings.db")
        self.readings_engine = make_engine(readings_url)
        self.readings = SqlReadingStore(self.readings_engine)
        self.states = SqlStateStore(self.readings_engine)
        rules_path = options.rules_file or settings.rules_file or DEFAULT_RULES
        self.rule_file: RuleFile = load_rules(rules_path)
        self.assets = AssetDirectory(self.sessions)
        self.engine = RuleEngine(self.rule_file, asset_of=self.assets)
        self._engine_lock = threading.Lock()
        self.alerts: list[Alert] = []
        self.gateway = Gateway(
            GatewayOptions(
                mqtt=MqttOptions(
                    url=options.broker_url,
                    protocol=options.protocol,
                    client_id=options.client_id,
                    clean_start=False,
                ),
                topics=options.topics,
                share_group=options.share_group,
                batch_size=settings.batch_size,
                max_payload_bytes=settings.max_payload_bytes,
                spool_dir=settings.data_dir / "spool",
            ),
            store=self.readings,
            state=self.states,
            sinks=[self._evaluate],
        )
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="rules-ticker", daemon=True)
        self.server: uvicorn.Server | None = None
        self._server_thread: threading.Thread | None = None
        self.secret = ensure_secret_key(settings)

    # -- wiring -----------------------------------------------------------------------------
    def _evaluate(self, readings: Sequence[Reading], presences: Sequence[Presence]) -> None:
        with self._engine_lock:
            alerts = self.engine.process(readings) + self.engine.process_presence(presences)
        self._handle(alerts)

    def _tick_loop(self) -> None:
        interval = self.settings.offline_check_interval_s
        while not self._stop.wait(interval):
            with self._engine_lock:
                alerts = self.engine.tick(datetime.now(UTC))
            try:
                self._handle(alerts)
            except Exception:
                log.exception("handling offline alerts failed")

    def _handle(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            self.alerts.append(alert)
            log.info(
                "alert %s %s on %s: %s", alert.rule, alert.state.value, alert.asset, alert.message
            )
            with self.sessions() as session:
                outcome = apply_alert(session, alert=alert)
            log.info("alert → work order %s (%s)", outcome.work_order_id, outcome.action)

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> Stack:
        self.gateway.start()
        self.protocol = self.gateway.mqtt.protocol
        self._ticker.start()
        if self.options.api:
            self._start_api()
        return self

    def _start_api(self) -> None:
        app = create_app(
            ApiContext(
                sessions=self.sessions,
                readings=self.readings,
                states=self.states,
                secret=self.secret,
                token_ttl_s=self.settings.token_ttl_s,
            )
        )
        config = uvicorn.Config(
            app,
            host=self.options.api_host,
            port=self.options.api_port,
            log_level="warning",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self._server_thread = threading.Thread(target=self.server.run, name="api", daemon=True)
        self._server_thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self._server_thread.is_alive() or time.monotonic() > deadline:
                raise ServiceUnavailable(
                    f"the API could not listen on {self.options.api_host}:{self.options.api_port}"
                    " (port in use?); set FACILITY_API_PORT"
                )
            time.sleep(0.05)

    @property
    def api_url(self) -> str:
        return f"http://{self.options.api_host}:{self.options.api_port}"

    def stop(self) -> None:
        self._stop.set()
        if self.server is not None:
            self.server.should_exit = True
            if self._server_thread is not None:
                self._server_thread.join(timeout=10)
        self.gateway.stop()
        if self._ticker.is_alive():
            self._ticker.join(timeout=5)
        self.readings.close()
        self.db_engine.dispose()


def require(value: str | None, variable: str, example: str) -> str:
    if not value:
        raise ConfigError(f"{variable} is not set; set it, e.g. {variable}={example}")
    return value
