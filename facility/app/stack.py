"""The composition root: the one place where gateway, rules and maintenance meet.

``gateway`` and ``rules`` never import ``maintenance`` (nor each other); here readings from the
gateway are handed to the rules engine and its alerts to the work-order service, all built from
one :class:`Settings` and passed down, so a test can point any part at a service on a free port.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from facility.app.health_probe import DatabaseProbe
from facility.app.http_server import RunningServer, start_http_server
from facility.app.sla_calendar import WindowCalendar
from facility.core.errors import ConfigError, ServiceUnavailable
from facility.core.health import HealthBoard
from facility.core.settings import Settings
from facility.core.types import Alert, AlertState, Presence, Reading
from gateway.admission import DeviceGate
from gateway.ingest import Gateway, GatewayOptions
from gateway.mqtt import MqttOptions
from gateway.registry import DeviceRegistry, load_registry
from gateway.stores import open_reading_store
from gateway.stores.sql import SqlReadingStore, SqlStateStore, make_engine
from maintenance.assets.models import Asset, Device
from maintenance.assets.register import (
    device_asset_code,
    ensure_asset,
    ensure_site,
    link_device,
)
from maintenance.notifications.events import EVENTS
from maintenance.notifications.service import (
    NotifyConfig,
    RobotTarget,
    SmtpTarget,
    WebhookTarget,
)
from maintenance.people.users import ensure_secret_key
from maintenance.pm.service import run_pm_scheduler
from maintenance.shared.db import connect, upgrade
from maintenance.sites.models import Site
from maintenance.sites.service import update_site
from maintenance.work_orders.service import AlertPolicy, alert_evidence, apply_alert
from maintenance.worker import MaintenanceWorker
from rules import DEFAULT_RULES
from rules.diagnoses import default_catalogue
from rules.engine import RuleEngine
from rules.loader import load_rules
from rules.model import RuleFile
from rules.reload import RulesWatcher
from rules.state import RuleStateStore

if TYPE_CHECKING:
    from gateway.connectors.bacnet import BacnetConnector
    from gateway.connectors.modbus import ModbusConnector
    from gateway.stores.influx import InfluxReadingStore
    from gateway.stores.victoria import VictoriaReadingStore

__all__ = ["AssetDirectory", "Stack", "StackOptions"]

log = logging.getLogger(__name__)


def notify_config(settings: Settings) -> NotifyConfig:
    """Webhook, SMTP and robot targets from ``FACILITY_WEBHOOK_*`` / ``_SMTP_*`` / ``_ROBOTS``."""
    webhooks: tuple[WebhookTarget, ...] = ()
    if settings.webhook_url:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        try:
            webhooks = (WebhookTarget(url=settings.webhook_url, secret=secret),)
        except ValueError as exc:
            raise ConfigError(f"FACILITY_WEBHOOK_URL/FACILITY_WEBHOOK_SECRET: {exc}") from exc
    smtp = None
    if settings.smtp_host:
        smtp = SmtpTarget(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        )
    robots = []
    for index, robot in enumerate(settings.robots):
        try:
            robots.append(
                RobotTarget(
                    kind=robot.kind,
                    name=robot.name,
                    url=robot.url.get_secret_value(),
                    secret=robot.secret.get_secret_value() if robot.secret else None,
                    language=robot.language,
                    events=frozenset(EVENTS if robot.events is None else robot.events),
                    priorities=frozenset(robot.priorities or ()),
                    card=robot.card,
                )
            )
        except ValueError as exc:  # the messages name the robot, never its URL or secret
            raise ConfigError(f"FACILITY_ROBOTS[{index}]: {exc}") from exc
    base = settings.console_base_url
    if base and not base.startswith(("http://", "https://")):
        raise ConfigError(f"FACILITY_CONSOLE_BASE_URL={base[:80]!r} must start with http(s)://")
    try:
        return NotifyConfig(
            webhooks=webhooks, smtp=smtp, robots=tuple(robots), console_base_url=base or None
        )
    except ValueError as exc:
        raise ConfigError(f"FACILITY_ROBOTS: {exc}") from exc


class AssetDirectory:
    """Device → asset code and attributes (type, site) for rule selectors and maintenance
    windows, read from the maintenance DB and cached (refreshed on a miss)."""

    def __init__(self, sessions: sessionmaker[Session], *, refresh_s: float = 5.0) -> None:
        self._sessions = sessions
        self._refresh_s = refresh_s
        self._map: dict[str, dict[str, str]] = {}
        self._loaded_at = -1e9
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._sessions() as session:
            rows = session.execute(
                sa.select(Device.id, Asset.code, Asset.asset_type, Site.code)
                .join(Asset, Device.asset_id == Asset.id)
                .outerjoin(Site, Asset.site_id == Site.id)
            ).all()
        self._map = {
            device: {"asset": code, "asset_type": asset_type or "", "site": site or ""}
            for device, code, asset_type, site in rows
        }
        self._loaded_at = time.monotonic()

    def __call__(self, device: str) -> dict[str, str] | None:
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
        self.registry = (
            load_registry(settings.registry_file) if settings.registry_file else DeviceRegistry()
        ).with_admit(settings.admit_devices.split(","))
        # new device ids are bounded (rate, unassigned cap); see gateway/admission.py
        self.gate = DeviceGate(
            rate=settings.new_device_rate,
            unassigned_cap=settings.unassigned_device_cap,
            admitted=self.registry.admitted,
        )
        self._gate_synced_at = float("-inf")
        self.readings: SqlReadingStore | InfluxReadingStore | VictoriaReadingStore = (
            open_reading_store(settings, engine=self.readings_engine, tags_of=self.registry.tags_of)
        )
        self.states = SqlStateStore(
            self.readings_engine, heartbeat_timeout_s=settings.heartbeat_timeout_s
        )
        self._registered_devices: set[str] = set()
        rules_path = options.rules_file or settings.rules_file or DEFAULT_RULES
        self.rule_file: RuleFile = load_rules(rules_path)
        self.assets = AssetDirectory(self.sessions)
        self.rule_states = RuleStateStore(self.db_engine)
        self.engine = RuleEngine(self.rule_file, asset_of=self._asset_of, store=self.rule_states)
        self.engine.restore(datetime.now(UTC))
        self._engine_lock = threading.Lock()
        self.rules_watcher = RulesWatcher(rules_path, self.engine, lock=self._engine_lock)
        self.alerts: list[Alert] = []
        # component states for /healthz and /readyz, written by the gateway and the prober
        self.health = HealthBoard()
        self.db_probe = DatabaseProbe(self.db_engine, self.health)
        self.gateway = Gateway(
            GatewayOptions(
                mqtt=MqttOptions(
                    url=options.broker_url,
                    protocol=options.protocol,
                    client_id=options.client_id,
                    clean_start=False,
                    session_expiry_s=settings.mqtt_session_expiry_s,
                    ca_file=settings.mqtt_ca_file,
                    cert_file=settings.mqtt_cert_file,
                    key_file=settings.mqtt_key_file,
                    username=settings.mqtt_username,
                    password=(
                        settings.mqtt_password.get_secret_value()
                        if settings.mqtt_password
                        else None
                    ),
                    password_file=settings.mqtt_password_file,
                    connect_attempts=settings.mqtt_connect_attempts,
                ),
                topics=options.topics,
                share_group=options.share_group,
                batch_size=settings.batch_size,
                max_payload_bytes=settings.max_payload_bytes,
                spool_dir=settings.data_dir / "spool",
                queue_size=settings.queue_size,
                spool_max_readings=settings.spool_max_readings,
                heartbeat_timeout_s=settings.heartbeat_timeout_s,
            ),
            store=self.readings,
            state=self.states,
            sinks=[self._register_devices, self._evaluate],
            registry=self.registry,
            gate=self.gate,
            health=self.health,
        )
        self.modbus = self._modbus_connector()
        self.bacnet = self._bacnet_connector()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="rules-ticker", daemon=True)
        self.server: RunningServer | None = None
        # the QR link secret is settled before a new session secret is generated, so a new
        # installation gets its own (see console._links.ensure_link_secret)
        self.link_secret = _link_secret(settings) if options.api else None
        self.secret = ensure_secret_key(settings)
        # SLA checks and notifications
        # declared maintenance windows (the rules file's, live on reload) pause SLA clocks
        calendar = WindowCalendar(lambda: self.engine.lifecycle.windows, self._registry_place)
        # how alerts fold: FDD faults into one order per asset, storms into one incident
        self.alert_policy = AlertPolicy(
            catalogue=default_catalogue(),  # loaded (and validated) at start, not at 3 a.m.
            fdd_window_s=settings.fdd_window_s,
            storm_threshold=settings.alert_storm_threshold,
            storm_window_s=settings.alert_storm_window_s,
        )
        self.maintenance = MaintenanceWorker(
            self.sessions,
            notify=notify_config(settings),
            calendar=calendar,
            alerts=self.alert_policy,
        )
        self._pm_thread = threading.Thread(target=self._pm_loop, name="pm-scheduler", daemon=True)

    # -- wiring -----------------------------------------------------------------------------

    def _modbus_connector(self) -> ModbusConnector | None:
        """The Modbus poller of ``FACILITY_CONNECTORS_FILE``, feeding the gateway's ingest path
        (None without the file; pymodbus loads only with it). A bad file fails here, at start."""
        if self.settings.connectors_file is None:
            return None
        from gateway.connectors import load_connectors
        from gateway.connectors.modbus import ModbusConnector

        config = load_connectors(self.settings.connectors_file)
        if not config.modbus.devices:
            return None
        return ModbusConnector(config.modbus, emit=self.gateway.submit)

    def _bacnet_connector(self) -> BacnetConnector | None:
        """The BACnet reader of ``FACILITY_CONNECTORS_FILE`` (None without BACnet devices;
        bacpypes3 loads only with them), feeding the same ingest path as Modbus and MQTT."""
        if self.settings.connectors_file is None:
            return None
        from gateway.connectors import load_connectors
        from gateway.connectors.bacnet import BacnetConnector

        config = load_connectors(self.settings.connectors_file)
        if not config.bacnet.devices:
            return None
        return BacnetConnector(config.bacnet, emit=self.gateway.submit)

    def _registry_place(self, code: str) -> dict[str, str] | None:
        """The registry file's place for asset ``code`` (None when the file does not name it)."""
        return next((e.place() for e in self.registry.assets if e.code == code), None)

    def _asset_of(self, device: str) -> dict[str, str] | None:
        """The registry file first (known before any DB round trip), then the maintenance DB,
        then, for a device an ``admit`` glob admits, its own asset (under a valid code; the
        work-order service creates it with the device's first alert, not on first sight, so a
        trusted fleet of thousands does not become thousands of assets by reporting)."""
        placement = self.registry.resolve(device)
        if placement.asset is not None:
            return placement.asset.place()
        found = self.assets(device)
        if found is None and placement.admitted:
            return {"asset": device_asset_code(device), "asset_type": "unknown", "site": ""}
        return found

    def _admitted(self, device: str) -> bool:
        """Whether rules may see ``device``: the registry or an ``admit`` glob admits it, or a
        person linked it to an asset. Any other device is quarantined (its readings are stored
        and listed, but raise no alert, so no work order and no notification)."""
        return self.registry.admitted(device) or self.assets(device) is not None

    def _sync_gate(self) -> None:
        """Tell the device gate which devices are recorded and which have an asset (a person
        may have admitted some through the API since), at start and every minute."""
        self._gate_synced_at = time.monotonic()
        with self.sessions() as session:
            rows = session.execute(sa.select(Device.id, Device.asset_id.is_not(None))).all()
        self.gate.load((device, bool(assigned)) for device, assigned in rows)
        self._registered_devices.update(device for device, _ in rows)

    def sync_registry(self) -> None:
        """Copy the registry's sites, assets and exactly named devices into maintenance."""
        with self.sessions() as session:
            for code, spec in self.registry.sites.items():
                ensure_site(session, code=code, name=spec.name)
                # the file is the source of truth for what it states; the rest stays as set
                update_site(session, code=code, name=spec.name, timezone=spec.timezone)
            for entry in self.registry.assets:
                site_code = entry.location.site
                site = ensure_site(session, code=site_code) if site_code else None
                asset = ensure_asset(
                    session,
                    code=entry.code,
                    name=entry.name,
                    asset_type=entry.asset_type,
                    site=site,
                    location=entry.path,
                )
                for rule in entry.devices:
                    if not any(ch in rule.match for ch in "*?["):
                        link_device(session, device=rule.match, asset=asset, kind=rule.device_class)
            session.commit()

    def _register_devices(self, readings: Sequence[Reading], presences: Sequence[Presence]) -> None:
        """Record each device the first time it is heard: on its registry asset, or unassigned."""
        new = {r.device for r in readings} | {p.device for p in presences}
        new -= self._registered_devices
        if not new:
            return
        with self.sessions() as session:
            for device in sorted(new):
                placement = self.registry.resolve(device)
                asset = None
                row = session.get(Device, device)
                if placement.asset is not None:
                    asset = ensure_asset(
                        session,
                        code=placement.asset.code,
                        name=placement.asset.name,
                        asset_type=placement.asset.asset_type,
                        location=placement.asset.path,
                    )
                if row is None or asset is not None:
                    link_device(session, device=device, asset=asset, kind=placement.device_class)
            session.commit()
        self._registered_devices |= new

    def _evaluate(self, readings: Sequence[Reading], presences: Sequence[Presence]) -> None:
        devices = {r.device for r in readings} | {p.device for p in presences}
        quarantined = {device for device in devices if not self._admitted(device)}
        if quarantined:  # stored and listed already; the rules never see them
            readings = [r for r in readings if r.device not in quarantined]
            presences = [p for p in presences if p.device not in quarantined]
            if not readings and not presences:
                return
        with self._engine_lock:
            alerts = self.engine.process(readings) + self.engine.process_presence(presences)
            self._flush_rules()  # before the batch is acknowledged
        self._handle(alerts)

    def _flush_rules(self, *, force: bool = False) -> None:
        """Persist rule state; a database hiccup keeps the changes for the next flush."""
        try:
            self.engine.flush(force=force)
        except ServiceUnavailable as exc:
            log.warning("rule state not saved yet: %s", exc)

    def _tick_loop(self) -> None:
        interval = self.settings.offline_check_interval_s
        while not self._stop.wait(interval):
            self.rules_watcher.poll()
            if time.monotonic() - self._gate_synced_at > 60:
                try:
                    self._sync_gate()
                except Exception:
                    log.exception("device gate not synced; next try in a minute")
            with self._engine_lock:
                alerts = self.engine.tick(datetime.now(UTC))
                self._flush_rules()
            try:
                self._handle(alerts)
            except Exception:
                log.exception("handling offline alerts failed")

    def _pm_loop(self) -> None:
        """A PM scheduler pass at start and every ``FACILITY_PM_INTERVAL_S``. A failed pass is
        logged and the next one runs; several processes may do this at once (each occurrence
        is ordered once, at the database's unique index)."""
        while True:
            try:
                with self.sessions() as session:
                    made = run_pm_scheduler(session, now=datetime.now(UTC), readings=self.readings)
                if made:
                    log.info("PM scheduler: %d order(s) created", len(made))
            except Exception:
                log.exception(
                    "PM scheduler pass failed; next try in %gs", self.settings.pm_interval_s
                )
            if self._stop.wait(self.settings.pm_interval_s):
                return

    def _handle(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            self.alerts.append(alert)
            log.info(
                "alert %s %s on %s: %s", alert.rule, alert.state.value, alert.asset, alert.message
            )
            if alert.state is AlertState.SUPPRESSED:
                continue  # recorded by the rules state store, never a work order
            evidence = alert_evidence(
                alert, condition=self._condition(alert.rule), readings=self.readings
            )
            with self.sessions() as session:
                outcome = apply_alert(
                    session, alert=alert, evidence=evidence, alerts=self.alert_policy
                )
            log.info("alert → work order %s (%s)", outcome.work_order_id, outcome.action)

    def _condition(self, rule_name: str) -> dict[str, object] | None:
        """The rule's definition as JSON, attached to the work order as evidence."""
        for rule in self.rule_file.rules:
            if rule.name == rule_name:
                return rule.model_dump(mode="json", by_alias=True, exclude={"message"})
        return None

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> Stack:
        ping = getattr(self.readings, "ping", None)
        if ping is not None:
            ping()  # refuse to start against an unreachable InfluxDB
        self.sync_registry()
        self._sync_gate()
        self.db_probe.start()
        self.gateway.start()
        self.protocol = self.gateway.mqtt.protocol
        if self.modbus is not None:
            self.modbus.start()
        if self.bacnet is not None:
            self.bacnet.start()
        self._ticker.start()
        self.maintenance.start()
        if self.settings.pm_interval_s > 0:
            self._pm_thread.start()
        if self.options.api:
            self._start_api()
        return self

    def _start_api(self) -> None:
        # the API, the console and their models load only in a process that serves them: a
        # gateway-only worker (scale-out, ``api=False``) keeps ~20 MB and a second of imports
        from console import mount_console
        from console._thresholds import alarm_bands
        from maintenance.api.app import create_app
        from maintenance.people.deps import ApiContext
        from maintenance.people.login_throttle import LoginThrottle

        app = create_app(
            ApiContext(
                sessions=self.sessions,
                readings=self.readings,
                states=self.states,
                secret=self.secret,
                token_ttl_s=self.settings.token_ttl_s,
                attachments_dir=self.settings.data_dir / "attachments",
                attachment_quota_per_order_bytes=self.settings.attachment_quota_per_order_bytes,
                attachment_quota_per_user_bytes=self.settings.attachment_quota_per_user_bytes,
                login_throttle=LoginThrottle(
                    per_account=self.settings.login_throttle_per_account,
                    per_client=self.settings.login_throttle_per_client,
                    per_account_total=self.settings.login_throttle_per_account_total,
                    storage_uri=self.settings.login_throttle_storage,
                ),
            ),
            health=self.health,
        )
        mount_console(
            app,
            data_dir=self.settings.data_dir,
            stop=self._stop,
            link_secret=self.link_secret,
            report_limits=(
                self.settings.report_limit_per_client,
                self.settings.report_limit_per_link,
                self.settings.report_limit_per_asset,
            ),
            # charts shade the alarm bands of the rules running now (reloads included)
            bands_of=lambda device, metric, asset: alarm_bands(
                self.engine.rule_file, device=device, metric=metric, asset=asset
            ),
        )
        try:
            self.server = start_http_server(
                app,
                self.options.api_host,
                self.options.api_port,
                name="api",
                trusted_proxies=self.settings.trusted_proxies,
            )
        except OSError as exc:
            raise ServiceUnavailable(
                f"the API could not listen on {self.options.api_host}:{self.options.api_port}"
                f" ({exc.strerror or exc}); set FACILITY_API_PORT to a free port"
            ) from exc

    @property
    def api_url(self) -> str:
        """Where the API listens: the bound port once serving (``api_port`` 0 picks one)."""
        if self.server is not None:
            return self.server.url
        return f"http://{self.options.api_host}:{self.options.api_port}"

    def stop(self) -> None:
        self._stop.set()
        if self.server is not None:
            self.server.stop()
        if self.modbus is not None:
            self.modbus.stop()
        if self.bacnet is not None:
            self.bacnet.stop()
        self.gateway.stop()
        self.db_probe.stop()
        self.maintenance.stop()
        if self._pm_thread.is_alive():
            self._pm_thread.join(timeout=30)
        if self._ticker.is_alive():
            self._ticker.join(timeout=5)
        with self._engine_lock:
            self._flush_rules(force=True)  # the refinements written lazily while running
        self.readings.close()
        self.db_engine.dispose()


def require(value: str | None, variable: str, example: str) -> str:
    if not value:
        raise ConfigError(f"{variable} is not set; set it, e.g. {variable}={example}")
    return value


def _link_secret(settings: Settings) -> str:
    from console._links import ensure_link_secret  # only where the API runs

    return ensure_link_secret(
        configured=settings.qr_secret.get_secret_value() if settings.qr_secret else None,
        data_dir=settings.data_dir,
        session_secret=settings.secret_key.get_secret_value() if settings.secret_key else None,
    )
