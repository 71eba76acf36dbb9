"""The maintenance worker: a thread that checks SLA clocks and delivers notifications.

One loop for both because both are "every few seconds, look at the database and act"; several
processes may run it at once (breach checks lock rows with SKIP LOCKED, deliveries are claimed
with a lease), so a campus can run it next to each API replica. Suppliers' certificates are
checked on the same loop but only every ``certificate_check_interval_s`` (hourly): a warning
days ahead needs no faster clock, and each warning is written once however many workers run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from maintenance.notifications.service import NotificationWorker, NotifyConfig
from maintenance.shared import sla
from maintenance.suppliers.service import DEFAULT_WARNING_DAYS, warn_expiring_certificates
from maintenance.work_orders.models import WorkOrder
from maintenance.work_orders.service import (
    DEFAULT_ALERT_POLICY,
    AlertPolicy,
    check_breaches,
    verify_fdd_orders,
)
from maintenance.work_orders.sla_pauses import PauseCalendar, apply_window_pauses

__all__ = ["MaintenanceWorker"]

log = logging.getLogger(__name__)


class MaintenanceWorker:
    """Runs :meth:`run_once` every ``interval_s`` until :meth:`stop`."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        policy: sla.SlaPolicy = sla.DEFAULT_POLICY,
        notify: NotifyConfig | None = None,
        interval_s: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        certificate_check_interval_s: float = 3600.0,
        certificate_warning_days: int = DEFAULT_WARNING_DAYS,
        calendar: PauseCalendar | None = None,
        alerts: AlertPolicy = DEFAULT_ALERT_POLICY,
    ) -> None:
        self.sessions = sessions
        #: the FDD verification window (a resolved FDD order is verified from the data after it)
        self.alerts = alerts
        #: declared maintenance windows; they pause the SLA clocks of the orders they cover
        self.calendar = calendar
        self.policy = policy
        self.clock = clock
        self.interval_s = interval_s
        self.certificate_check_interval_s = certificate_check_interval_s
        self.certificate_warning_days = certificate_warning_days
        self._certificates_checked_at: datetime | None = None
        self.notifications = NotificationWorker(sessions, notify or NotifyConfig(), clock)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="maintenance-worker", daemon=True)

    def run_once(self) -> None:
        now = self.clock()
        calendar = self.calendar
        paused = None
        if calendar is not None:
            with self.sessions() as session:
                apply_window_pauses(session, calendar=calendar, now=now, policy=self.policy)

            def paused(order: WorkOrder) -> bool:
                asset = order.asset
                return asset is not None and calendar.active_now(
                    asset=asset, rule=order.rule, device=order.device, now=now
                )

        with self.sessions() as session:
            found = check_breaches(session, now=now, policy=self.policy, paused=paused)
            for order_id, what in found:
                log.info("work order %d: %s", order_id, what)
            for order_id in verify_fdd_orders(session, now=now, alerts=self.alerts):
                log.info("work order %d: verified from the data", order_id)
        self._check_certificates()
        self.notifications.run_once()

    def _check_certificates(self) -> None:
        now = self.clock()
        last = self._certificates_checked_at
        if last is not None and (now - last).total_seconds() < self.certificate_check_interval_s:
            return
        with self.sessions() as session:
            written = warn_expiring_certificates(
                session, within_days=self.certificate_warning_days, now=now
            )
        for message in written:
            log.info("certificate warning queued: %s", message.payload.get("key"))
        self._certificates_checked_at = now

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception:
                log.exception("maintenance worker pass failed; retrying next interval")

    def start(self) -> MaintenanceWorker:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
