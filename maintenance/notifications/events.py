"""The names of the events that the outbox carries (kept apart so every channel can import them)."""

from __future__ import annotations

__all__ = ["CERTIFICATE_EVENTS", "EVENTS", "ORDER_EVENTS", "STOCK_EVENTS"]

#: Work-order events that produce notifications.
ORDER_EVENTS = ("created", "assigned", "breached", "escalated", "resolved", "verified", "reopened")
#: Supplier events (``maintenance.suppliers.service.warn_expiring_certificates``).
CERTIFICATE_EVENTS = ("certificate_expiring", "certificate_expired")
#: Storeroom events (``maintenance.inventory.service``: stock fell to the reorder point).
STOCK_EVENTS = ("stock_low",)
#: Events that produce notifications.
EVENTS = ORDER_EVENTS + CERTIFICATE_EVENTS + STOCK_EVENTS
